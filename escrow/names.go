package escrow

import "go.temporal.io/sdk/temporal"

// EscrowTaskQueue is the task queue of escrow workflows (and their local activities).
const EscrowTaskQueue = "escrow"

// WalletTaskQueue is the task queue of one wallet-rpc instance: every step for a wallet held
// by that instance is scheduled here, and the worker serving it runs one step at a time.
func WalletTaskQueue(instance string) string {
	return "wallet-rpc-" + instance
}

// QueryName is the type of every query name.
type QueryName string

// QueryStatus returns the escrow's State.
const QueryStatus QueryName = "status"

// SignalName is the type of every signal name.
type SignalName string

// SignalCapacityFreed wakes a setup that waits for idle wallet-rpc instances: the pool that
// refused it sends it when a lease ends, so the setup need not sleep out its back-off. It
// carries nothing and only hints: the setup asks the pool again, and its timer stays the
// backstop when the hint is lost.
const SignalCapacityFreed SignalName = "capacity-freed"

// SignalPaymentSeen tells an escrow awaiting funding that the block watcher saw a payment to
// its address (payload PaymentSeen), so it asks its wallet at once instead of at its next
// poll. It only hints: funding is decided on the wallet's check alone, and the poll stays the
// backstop when a signal is lost or the watcher is down.
const SignalPaymentSeen SignalName = "payment-seen"

// SignalPayoutSeen tells an escrow where the block watcher sees its payout's transactions
// (payload PayoutSeen): deeper, or gone from the chain and the pool. The escrow asks its
// wallet when the payout is deep enough or gone; until then it only records the depth. Its
// safety-net poll stays the backstop.
const SignalPayoutSeen SignalName = "payout-seen"

// UpdateName is the type of every update name: the decisions of the escrow's parties, the
// operators' repairs, and the client's wait for the setup.
type UpdateName string

// The decisions, each a Temporal update whose validator refuses the wrong role, the wrong
// state or a second decision after a final one, before anything reaches history.
const (
	// UpdateMarkShipped: the vendor has shipped (starts the auto-release timer).
	UpdateMarkShipped UpdateName = "mark-shipped"
	// UpdateConfirmReceipt: the buyer got the goods; the money goes to the vendor.
	UpdateConfirmReceipt UpdateName = "confirm-receipt"
	// UpdateAgreeRefund: the vendor gives the money back to the buyer.
	UpdateAgreeRefund UpdateName = "agree-refund"
	// UpdateOpenDispute: the buyer or the vendor asks the arbiter to decide.
	UpdateOpenDispute UpdateName = "open-dispute"
	// UpdateResolveDispute: the arbiter decides for the buyer or the vendor.
	UpdateResolveDispute UpdateName = "resolve-dispute"
	// UpdateAgreeSplit: the buyer or the vendor offers a split (an amount to the vendor, the
	// rest to the buyer); the same amount from the other one decides it.
	UpdateAgreeSplit UpdateName = "agree-split"
	// UpdateCancel: any party calls the escrow off before it is funded.
	UpdateCancel UpdateName = "cancel"
	// UpdateRetryPayout: an operator resumes a parked payout now, optionally raising its fee cap.
	UpdateRetryPayout UpdateName = "retry-payout"
	// UpdateRestoreWallet: an operator writes a role's wallet back from its backup onto a
	// live instance, moving that role there (and resuming a parked payout).
	UpdateRestoreWallet UpdateName = "restore-wallet"
	// UpdateResumeWatch names an operator's resume-watch in the decisions: it is a new run of
	// a finished escrow (starter.ResumeWatch), not an update, since a closed run takes none.
	UpdateResumeWatch UpdateName = "resume-watch"
	// UpdateForkOutlook tells a running escrow the next hard fork's height (escrow.ForkOutlook);
	// it flags itself if it may still hold money then (starter fork-outlook sends it to all).
	UpdateForkOutlook UpdateName = "fork-outlook"
	// UpdateAwaitSetup blocks until the multisig setup ends and returns the state (Ready with
	// the address, or Failed with the reason); refused once it has ended. It decides nothing.
	UpdateAwaitSetup UpdateName = "await-setup"
)

// Search attribute keys that operators filter on in the Web UI.
var (
	// SearchAttrPhase holds the Phase, e.g. `EscrowPhase = "Exchanging"`.
	SearchAttrPhase = temporal.NewSearchAttributeKeyKeyword("EscrowPhase")
	// SearchAttrRound holds the key-exchange round, e.g. `EscrowRound = 2`.
	SearchAttrRound = temporal.NewSearchAttributeKeyInt64("EscrowRound")
	// SearchAttrStatus holds the Status, e.g. `EscrowStatus = "awaiting_funding"`.
	SearchAttrStatus = temporal.NewSearchAttributeKeyKeyword("EscrowStatus")
	// SearchAttrEscalated is true once a dispute waited past its escalation time.
	SearchAttrEscalated = temporal.NewSearchAttributeKeyBool("EscrowEscalated")
	// SearchAttrBlocked holds why a payout is parked (a BlockCode), "" when it is not,
	// e.g. `EscrowBlocked = "daemon_unreachable"`.
	SearchAttrBlocked = temporal.NewSearchAttributeKeyKeyword("EscrowBlocked")
	// SearchAttrInstances lists the wallet-rpc instances a setup leased (buyer, vendor,
	// arbiter): a restarted worker rebuilds its leases from the escrows still in setup.
	SearchAttrInstances = temporal.NewSearchAttributeKeyKeywordList("EscrowInstances")
	// SearchAttrForkRisk is true while the escrow may still hold money when the next hard
	// fork activates: `EscrowForkRisk = true` lists what to settle first.
	SearchAttrForkRisk = temporal.NewSearchAttributeKeyBool("EscrowForkRisk")
)

// SearchAttributeTypes lists the custom search attributes and their types, for registering
// them on a server (`temporal server start-dev --search-attribute NAME=TYPE`).
var SearchAttributeTypes = map[string]string{
	SearchAttrPhase.GetName():     "Keyword",
	SearchAttrRound.GetName():     "Int",
	SearchAttrStatus.GetName():    "Keyword",
	SearchAttrEscalated.GetName(): "Bool",
	SearchAttrBlocked.GetName():   "Keyword",
	SearchAttrInstances.GetName(): "KeywordList",
	SearchAttrForkRisk.GetName():  "Bool",
}

// Metrics the workflow records through the SDK's replay-safe metrics handler (exported as
// Prometheus histograms with a _seconds suffix).
const (
	// MetricSetupDuration is the time from the workflow's start to Ready.
	MetricSetupDuration = "xmr_escrow_setup_duration"
	// MetricRoundDuration is the time of one key-exchange round, labelled by round.
	MetricRoundDuration = "xmr_escrow_round_duration"
	// MetricPayoutBlocked counts payouts parked, labelled by reason (a BlockCode).
	MetricPayoutBlocked = "xmr_escrow_payout_blocked"
	// MetricLateRefunds counts payments refunded after the escrow's final status.
	MetricLateRefunds = "xmr_escrow_late_refunds"
	// MetricForkRisk counts escrows flagged as running across the next hard fork, and
	// MetricForkRefused new escrows refused for it.
	MetricForkRisk    = "xmr_escrow_fork_risk"
	MetricForkRefused = "xmr_escrow_fork_refused"
)
