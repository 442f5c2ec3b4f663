package workflows

import "go.temporal.io/sdk/workflow"

// Every change of the escrow's behaviour is guarded by a marker (workflow.GetVersion through
// version below): a run that started before the change replays its old path, a run after it
// takes the new one. The constants stay next to the code they guard; changes lists them all,
// oldest first, with the saved histories (testdata/history-<name>.json) that pin each old path.
// versions_test.go keeps the list true: every marker the code uses is here, and retiring one
// marker fails exactly the histories listed for it.
//
// When a marker can go: once no run that could take its old path can be replayed, that is, no
// escrow run started before its commit is open or closed within the namespace's retention
// (queries on closed runs replay them). Check with the visibility query
// `WorkflowType = 'Escrow' AND StartTime < '<the commit's date>'` (open, and closed in the last
// escrow.MinRetention). Then remove the old branch, keep the call with minSupported raised to
// its max (or drop it when no branch is left), and delete the histories listed for it, which
// would no longer replay.

// change is one marker: what its new path does, the commit that brought it, and the saved
// histories whose replay takes its old path (none: note says why no history does).
type change struct {
	id      string
	guards  string
	since   string
	oldPath []string
	note    string
}

// changes lists every marker, oldest first.
var changes = []change{
	{id: changeWaitForUnlock, guards: "the payout waits for unlocked funds without spending attempts", since: "5f69612",
		oldPath: []string{"2026-11-dispute-to-buyer", "2026-11-refund", "2026-11-release"},
	},
	{id: changePayoutParks, guards: "the payout sweeps what is spendable, parks as payout_blocked instead of failing, rebuilds a vanished payout", since: "cad035a",
		oldPath: []string{"2026-11-dispute-to-buyer", "2026-11-refund", "2026-11-release"},
	},
	{id: changeStrictInput, guards: "three different users; the setup checks the address's network and the payout addresses", since: "cad035a",
		oldPath: []string{"2026-11-cancelled", "2026-11-dispute-to-buyer", "2026-11-refund", "2026-11-release"},
	},
	{id: changeLateMoney, guards: "the grace period after the final status, refunding late money", since: "cad035a",
		oldPath: []string{"2026-11-cancelled", "2026-11-dispute-to-buyer", "2026-11-refund", "2026-11-release"},
	},
	{id: changeFreshDecisions, guards: "a fresh funding check before a cancel or an expiry decides", since: "cad035a",
		oldPath: []string{"2026-11-cancelled"},
	},
	{id: changeCapacityWake, guards: "a pool's release cuts the capacity wait short (SignalCapacityFreed)", since: "9c30cc4",
		note: "no saved history takes its old path: reached only by a setup that waits for capacity; the 2026-12-04 and current capacity-wake histories both carry it",
	},
	{id: changeRestoreWallet, guards: "the restore-wallet update", since: "2171b18",
		note: "no saved history takes its old path: reached only by a restore; every restore history carries it",
	},
	{id: changeLeaseRecord, guards: "the EscrowInstances search attribute written at assignment", since: "5cf0b6b",
		oldPath: []string{"2026-11-cancelled", "2026-11-dispute-to-buyer", "2026-11-refund", "2026-11-release", "2026-12-02-payout-parked", "2026-12-02-release"},
	},
	{id: changeDurableCapacityWait, guards: "a durable timer between short lease attempts, not a local activity retried for hours", since: "7adc354",
		oldPath: []string{"2026-11-cancelled", "2026-11-dispute-to-buyer", "2026-11-refund", "2026-11-release", "2026-12-02-payout-parked", "2026-12-02-release"},
	},
	{id: changeFewerSetupSteps, guards: "CreateWallet returns the round-0 message; payout addresses checked with the wallets", since: "1b2bac2",
		oldPath: []string{"2026-11-cancelled", "2026-11-dispute-to-buyer", "2026-11-refund", "2026-11-release", "2026-12-02-payout-parked", "2026-12-02-release", "2026-12-02-restore-release"},
	},
	{id: changeBlockWatcher, guards: "the funding wait registers with the block watcher and wakes on its signal", since: "aa25fae",
		oldPath: []string{"2026-11-cancelled", "2026-11-dispute-to-buyer", "2026-11-refund", "2026-11-release", "2026-12-02-payout-parked", "2026-12-02-release", "2026-12-02-restore-release"},
	},
	{id: changeTimeLockedSightings, guards: "a sighting of a time-locked payment asks no wallet", since: "d764012",
		oldPath: []string{"2026-12-04-cancel-after-payment", "2026-12-04-dispute-to-buyer", "2026-12-04-late-refund", "2026-12-04-payout-parked", "2026-12-04-refund", "2026-12-04-release", "2026-12-04-restore-release"},
	},
	{id: changeExactShares, guards: "exact shares per party, dust left out, holdings checked before paying", since: "9b57ad9",
		oldPath: []string{"2026-11-dispute-to-buyer", "2026-11-refund", "2026-11-release", "2026-12-02-payout-parked", "2026-12-02-release", "2026-12-02-restore-release", "2026-12-04-cancel-after-payment", "2026-12-04-dispute-to-buyer", "2026-12-04-late-refund", "2026-12-04-payout-parked", "2026-12-04-refund", "2026-12-04-release", "2026-12-04-restore-release"},
	},
	{id: changeLateHoldings, guards: "the late watch counts what arrived beyond what was dealt with, ends with a last look", since: "9b57ad9",
		oldPath: []string{"2026-12-02-payout-parked", "2026-12-02-release", "2026-12-02-restore-release", "2026-12-04-cancel-after-payment", "2026-12-04-cancelled", "2026-12-04-dispute-to-buyer", "2026-12-04-late-refund", "2026-12-04-payout-parked", "2026-12-04-refund", "2026-12-04-release", "2026-12-04-restore-release"},
	},
	{id: changeForkGuard, guards: "a new escrow is refused if its longest term runs past the next hard fork", since: "ce8f39a",
		oldPath: []string{"2026-11-cancelled", "2026-11-dispute-to-buyer", "2026-11-refund", "2026-11-release", "2026-12-02-payout-parked", "2026-12-02-release", "2026-12-02-restore-release", "2026-12-04-cancel-after-payment", "2026-12-04-cancelled", "2026-12-04-capacity-wake", "2026-12-04-dispute-to-buyer", "2026-12-04-late-refund", "2026-12-04-payout-parked", "2026-12-04-refund", "2026-12-04-release", "2026-12-04-restore-release", "2026-12-04-watched-time-locked", "cancel-after-payment", "cancelled", "capacity-wake", "dispute-to-buyer", "dust-output", "late-locked-refund", "late-refund", "overpaid", "payout-parked", "refund", "release", "restore-release", "split-commission", "watched-time-locked"},
	},
	{id: changePayoutWatcher, guards: "the payout's confirmations come from the block watcher", since: "d5feabd",
		oldPath: []string{"2026-12-02-payout-parked", "2026-12-02-release", "2026-12-02-restore-release", "2026-12-04-cancel-after-payment", "2026-12-04-dispute-to-buyer", "2026-12-04-late-refund", "2026-12-04-payout-parked", "2026-12-04-refund", "2026-12-04-release", "2026-12-04-restore-release", "cancel-after-payment", "dispute-to-buyer", "dust-output", "late-locked-refund", "late-refund", "overpaid", "payout-parked", "refund", "release", "restore-release", "split-commission"},
	},
	{id: changeLateWatcher, guards: "the late watch registers with the block watcher and wakes on its signal", since: "20f2cc1",
		oldPath: []string{"cancel-after-payment", "cancelled", "dispute-to-buyer", "dust-output", "late-locked-refund", "late-refund", "overpaid", "payout-parked", "refund", "release", "restore-release", "split-commission"},
	},
	{id: changePayoutReorged, guards: "a completed payout reported gone in the grace is checked and paid again", since: "5dc96a6",
		note: "no saved history takes its old path: reached only when the watcher reports a completed payout gone; payout-reorged carries it",
	},
	{id: changeKeepWatch, guards: "the funding wait's registration is kept through the payout for the late watch", since: "4d8dceb",
		oldPath: []string{"2026-12-04-cancel-after-payment", "2026-12-04-dispute-to-buyer", "2026-12-04-late-refund", "2026-12-04-payout-parked", "2026-12-04-refund", "2026-12-04-release", "2026-12-04-restore-release", "2026-12-04-watched-time-locked", "cancel-after-payment", "dispute-to-buyer", "dust-output", "late-locked-refund", "late-refund", "late-watched", "overpaid", "payout-parked", "payout-reorged", "refund", "release", "restore-release", "split-commission", "watched-time-locked"},
	},
	{id: changeLateHealthNet, guards: "the late watch's safety net asks the watcher's records before a wallet", since: "4d8dceb",
		oldPath: []string{"late-watched", "payout-reorged"},
	},
	{id: changeLeaseReturned, guards: "a setup's leases end with ReturnInstance (was ReleaseInstance: \"release\" is a payout)", since: "280e92b",
		oldPath: []string{"2026-11-cancelled", "2026-11-dispute-to-buyer", "2026-11-refund", "2026-11-release", "2026-12-02-payout-parked", "2026-12-02-release", "2026-12-02-restore-release", "2026-12-04-cancel-after-payment", "2026-12-04-cancelled", "2026-12-04-capacity-wake", "2026-12-04-dispute-to-buyer", "2026-12-04-late-refund", "2026-12-04-payout-parked", "2026-12-04-refund", "2026-12-04-release", "2026-12-04-restore-release", "2026-12-04-watched-time-locked", "cancel-after-payment", "cancelled", "capacity-wake", "dispute-to-buyer", "dust-output", "late-adopted", "late-locked-refund", "late-refund", "late-watched", "overpaid", "payout-parked", "payout-reorged", "refund", "release", "restore-release", "split-commission", "watched-time-locked"},
	},
	{id: changeFollowOnSubmitter, guards: "the payout's hashes go to the block watcher from the submitting signer's queue, not the arbiter's", since: "d526b40",
		oldPath: []string{"late-adopted", "late-watched", "payout-reorged"},
	},
	{id: changeLeanPayout, guards: "an exact payout syncs first and reads the holdings once, as the sync left them; the look before the sync only when money is still arriving", since: "c69ade1",
		oldPath: []string{"cancel-after-payment", "dispute-to-buyer", "dust-output", "late-adopted", "late-locked-refund", "late-refund", "late-watched", "overpaid", "payout-parked", "payout-reorged", "refund", "release", "restore-release", "split-commission"},
	},
	{id: changeFundingFollowed, guards: "a payment still confirming is followed by the block watcher, which signals payment-seen once it is deep enough", since: "15a57b9",
		oldPath: []string{"2026-12-04-cancel-after-payment", "2026-12-04-payout-parked", "dispute-to-buyer", "dust-output", "late-adopted", "late-locked-refund", "late-refund", "late-watched", "lean-dispute-to-buyer", "lean-refund", "lean-release", "payout-parked", "payout-reorged", "refund", "release", "restore-release", "split-commission"},
	},
}

// version is workflow.GetVersion for every change marker. It exists so that versions_test.go
// can retire one marker at a time (raise its minSupported to its max, as its removal would)
// and see which saved histories then fail to replay: those pin its old path.
func version(ctx workflow.Context, changeID string, minSupported, maxSupported workflow.Version) workflow.Version {
	if changeID == retiredForTest {
		minSupported = maxSupported
	}
	return workflow.GetVersion(ctx, changeID, minSupported, maxSupported)
}

// retiredForTest is the marker versions_test.go retires; always empty outside that test.
var retiredForTest string
