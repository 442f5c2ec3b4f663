package escrow

import "time"

// Decision is one party's decision as the escrow recorded it.
type Decision struct {
	Update  UpdateName `json:"update"`
	Role    Role       `json:"role"`
	ActorID string     `json:"actor_id"`
	At      time.Time  `json:"at"`
	// Detail is the dispute reason, the winner, or "auto" for a timer's decision.
	Detail string `json:"detail,omitempty"`
}

// DecisionInput is the input of every decision update. The marketplace authenticates its
// user and says who acts: the escrow checks that this user holds that role.
type DecisionInput struct {
	Role    Role   `json:"role"`
	ActorID string `json:"actor_id"`
	// Reason explains a dispute (10–1000 characters).
	Reason string `json:"reason,omitempty"`
	// Winner is who a dispute resolves to: buyer (refund) or vendor (release).
	Winner Role `json:"winner,omitempty"`
	// PayoutAddress, on mark-shipped, replaces the vendor's payout address.
	PayoutAddress string `json:"payout_address,omitempty"`
	// VendorAtomic, on agree-split (or resolve-dispute without a Winner), is the vendor's
	// part of a split, commission included: 1 piconero up to the price. The rest is the buyer's.
	VendorAtomic uint64 `json:"vendor_atomic,omitempty"`
}

// SplitOffer is one party's agree-split waiting for the other's: the same amount from the
// buyer and the vendor decides the split.
type SplitOffer struct {
	Role         Role      `json:"role"`
	ActorID      string    `json:"actor_id"`
	VendorAtomic uint64    `json:"vendor_atomic"`
	At           time.Time `json:"at"`
}

// PayoutKind says where the money goes.
type PayoutKind string

// The two payouts.
const (
	PayoutRelease PayoutKind = "release" // to the vendor
	PayoutRefund  PayoutKind = "refund"  // to the buyer
	PayoutSplit   PayoutKind = "split"   // an agreed part to the vendor, the rest to the buyer
)

// ExactShares is the payout rule set of escrows decided since it exists (Payout.Rules):
// every party gets exactly its share (escrow.Division), dust is left out, and a payout
// that cannot proceed parks with a back-off that grows (docs/money.md).
const ExactShares = 2

// Payout is a decided payout and how far it has got.
type Payout struct {
	Kind    PayoutKind `json:"kind"`
	Payee   Role       `json:"payee"`
	Address string     `json:"address"`
	// Signers are the two roles whose keys move the money: the first builds the transaction,
	// the second checks, signs and submits it.
	Signers  []Role `json:"signers"`
	Attempts int    `json:"attempts"`
	TxHash   string `json:"tx_hash,omitempty"`
	// AmountAtomic and FeeAtomic are what the signed transaction pays and costs.
	AmountAtomic  uint64 `json:"amount_atomic,omitempty"`
	FeeAtomic     uint64 `json:"fee_atomic,omitempty"`
	Submitted     bool   `json:"submitted"`
	Confirmations uint64 `json:"confirmations"`
	// TxHashes lists every transaction of the payout: dust outputs can split a sweep.
	TxHashes []string `json:"tx_hashes,omitempty"`
	// MaxFeeAtomic, when set by an operator, replaces the default fee cap.
	MaxFeeAtomic uint64 `json:"max_fee_atomic,omitempty"`
	// Rebuilds counts submitted payouts that vanished (failed, double spent, dropped) and
	// were built again from a fresh export/import.
	Rebuilds int `json:"rebuilds,omitempty"`
	// FundedAtomic is the balance the payout swept: the amount plus the fees.
	FundedAtomic uint64 `json:"funded_atomic,omitempty"`

	// Rules is ExactShares for payouts decided under it, 0 for the older sweep-it-all rules.
	Rules int `json:"rules,omitempty"`
	// Division is what was decided (ExactShares): the vendor's part, the commission, the
	// addresses. Shares is what the signed set pays each destination, to the piconero.
	Division *Division `json:"division,omitempty"`
	Shares   []Share   `json:"shares,omitempty"`
	// Earlier lists the hashes of every set signed before the current one (it vanished, or
	// its fate was unknown when the payout moved on). A signed set is never forgotten: one of
	// them mined after all is the payout.
	Earlier [][]string `json:"earlier,omitempty"`
	// Dust is what the payout left behind as worth less than the fee to spend it.
	Dust *Dust `json:"dust,omitempty"`
	// Parks counts the times this payout parked; each back-off doubles the one before.
	Parks int `json:"parks,omitempty"`
	// Follow is the block watcher's part in the payout's confirmations (PayoutFollow).
	Follow *PayoutFollow `json:"follow,omitempty"`
}

// Dust is money at the escrow's address in outputs worth less than the fee to spend them:
// no payout takes them (wallet2 skips them), so they are listed, never divided or waited for.
type Dust struct {
	AmountAtomic uint64 `json:"amount_atomic"`
	Outputs      int    `json:"outputs"`
	// BelowAtomic is the threshold they were measured against: the fee of one more input.
	BelowAtomic uint64 `json:"below_atomic"`
}

// Leftover is what a finished escrow leaves at its address when its watch ends, and why:
// dust, and time-locked payments that unlock after the grace period (an operator can resume
// the watch for them: starter resume-watch).
type Leftover struct {
	Dust       *Dust               `json:"dust,omitempty"`
	TimeLocked []TimeLockedPayment `json:"time_locked,omitempty"`
	// TimeLockedAtomic sums every time-locked payment, listed or not.
	TimeLockedAtomic uint64 `json:"time_locked_atomic,omitempty"`
	Reason           string `json:"reason"`
}

// Funding is what has arrived at the multisig address.
type Funding struct {
	// ConfirmedAtomic arrived with enough confirmations; PendingAtomic is still confirming.
	ConfirmedAtomic uint64    `json:"confirmed_atomic"`
	PendingAtomic   uint64    `json:"pending_atomic"`
	OverpaidAtomic  uint64    `json:"overpaid_atomic,omitempty"`
	Deadline        time.Time `json:"deadline"`
	FundedAt        time.Time `json:"funded_at,omitempty"`
	Checks          int       `json:"checks"`
	TxIDs           []string  `json:"tx_ids,omitempty"`
	// Payments counts every payment seen; TxIDs keeps at most MaxFundingTxIDs of them.
	Payments int `json:"payments,omitempty"`
	// TimeLockedAtomic arrived with an unlock_time beyond the normal lock: shown, never
	// counted, because no payout could spend it.
	TimeLockedAtomic uint64              `json:"time_locked_atomic,omitempty"`
	TimeLocked       []TimeLockedPayment `json:"time_locked,omitempty"`
	// Watch is the block watcher's part in the wait, once the escrow asked to be watched.
	Watch *FundingWatch `json:"watch,omitempty"`
}

// TimeLockedPayment is a payment whose outputs carry an unlock_time beyond the normal lock
// from now: it is shown, and counted only once it is that close to unlocking, because until
// then no payout could spend it.
type TimeLockedPayment struct {
	TxID         string `json:"tx_id"`
	AmountAtomic uint64 `json:"amount_atomic"`
	// UnlockTime is the transfer's unlock_time: a block height below 500,000,000, a Unix
	// time above.
	UnlockTime uint64 `json:"unlock_time"`
}

// Limits on what a payment can make the escrow record.
const (
	// normalLockBlocks is the lock every Monero output has (CRYPTONOTE_DEFAULT_TX_SPENDABLE_AGE);
	// a payment counts only if it is spendable within it.
	normalLockBlocks = 10
	// MaxFundingTxIDs bounds the funding tx IDs the escrow keeps: a flood of dust payments
	// must not grow its state without bound.
	MaxFundingTxIDs = 64
	// MaxTimeLocked bounds the time-locked payments the escrow lists.
	MaxTimeLocked = 16
)

// BlockCode says, in one filterable word, why a payout is parked.
type BlockCode string

// Why a payout can be parked.
const (
	// BlockUnreachable: the wallet-rpc or its daemon did not answer (outage, restart).
	BlockUnreachable BlockCode = "unreachable"
	// BlockLocked: funds stayed locked past the unlock wait.
	BlockLocked BlockCode = "funds_locked"
	// BlockStale: the signers' multisig state kept going stale (new payments, lost replies).
	BlockStale BlockCode = "multisig_stale"
	// BlockRejected: the co-signer refused the transaction (fee above the cap, wrong amount).
	BlockRejected BlockCode = "payout_rejected"
	// BlockWallet: a wallet refused the step (will not open after a redeploy, bad data).
	BlockWallet BlockCode = "wallet_error"
	// BlockFundsMissing: the escrow holds less than the decision pays and no payout of it is
	// known (a deep reorg took the buyer's payment): it checks again before paying anything.
	BlockFundsMissing BlockCode = "funds_missing"
)

// PayoutBlock is a parked payout: why, since when, and when it is tried again.
type PayoutBlock struct {
	Code   BlockCode `json:"code"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
	// Retries counts the attempts that parked it; the back-off doubles with each.
	Retries     int       `json:"retries"`
	NextRetryAt time.Time `json:"next_retry_at"`
	// From is the status to return to once the payout proceeds.
	From Status `json:"from"`
	// RetryRequested is set by an operator's retry-payout, and cleared when it is taken up.
	RetryRequested bool `json:"retry_requested,omitempty"`
}

// RetryPayoutInput is an operator's request to resume a parked payout now.
type RetryPayoutInput struct {
	// Operator names who resumes it, for the audit trail (1–200 characters).
	Operator string `json:"operator"`
	// MaxFeeAtomic, if set, raises this escrow's fee cap (for a fee spike).
	MaxFeeAtomic uint64 `json:"max_fee_atomic,omitempty"`
}

// RestoreWalletInput is an operator's request to write a role's wallet back from its sealed
// backup onto a live instance, after the disk that held it was lost.
type RestoreWalletInput struct {
	// Operator names who restores it, for the audit trail (1–200 characters).
	Operator string `json:"operator"`
	// Role is the wallet to restore.
	Role Role `json:"role"`
	// Instance is the live wallet-rpc instance (its name, as the worker's log gives it) that
	// receives the wallet; every later step of that role goes there.
	Instance string `json:"instance"`
}
