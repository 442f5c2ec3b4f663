package crashpoint

import (
	"strconv"
	"time"
)

// Env names a crash point at which the process SIGKILLs itself. It exists only for
// the worker crash test (integration/worker_crash_test.go), which runs the worker as its own
// process and needs it to die at an exact step of a setup, not wherever a poller happens to
// notice one. The value is a point ("create-wallet-created") or a point and a round
// ("round-stepped:2"), see Name; it is read once, at start. Only a binary built with
// the crashpoints build tag (on.go) acts on it: production binaries are built
// without it, and their At is empty (off.go).
const Env = "XMR_ESCROW_TEST_CRASH_AT"

// The crash points, each at one spot of the wallet steps.
const (
	// CreateCreated: the wallet-rpc created the wallet, it is not labelled yet.
	CreateCreated = "create-wallet-created"
	// CreateReturn: CreateWallet returns (the wallet made or found again); its result
	// is not reported yet.
	CreateReturn = "create-wallet-return"
	// PrepareStart: the round-0 message is asked for, in CreateWallet once the wallet is
	// made (its result not reported yet), or at the start of an older run's PrepareMultisig.
	PrepareStart = "prepare-multisig-start"
	// RoundStart (with a round): a round's step starts; its snapshot is not taken yet.
	RoundStart = "round-start"
	// RoundStepped (with a round): make_multisig or exchange_multisig_keys returned,
	// the wallet is not stored yet.
	RoundStepped = "round-stepped"
	// RoundDone (with a round) is where a round's step returns; it is only the trigger
	// of PurgeWait.
	RoundDone = "round-done"
	// PurgeWait (with a round): the process dies PurgeWaitDelay after all three
	// roles' steps of that round returned, that is while the setup waits out the purge
	// delay before the next round. The test must check that the kill fell inside that
	// timer (its history says when it started and fired): no step runs during it.
	PurgeWait = "purge-wait"
	// VerifyRead: VerifyMultisig read the wallet's state, before backup and cleanup.
	VerifyRead = "verify-read"
	// FundingStart: the first CheckFunding starts, so the escrow is Ready.
	FundingStart = "check-funding-start"
)

// PurgeWaitDelay is how long after a round's last step a PurgeWait point kills:
// long enough for the workflow to start its purge timer, shorter than the test's delay.
const PurgeWaitDelay = 1500 * time.Millisecond

// Name is Env's value for point in round (0: a point without a round).
func Name(point string, round int) string {
	if round == 0 {
		return point
	}
	return point + ":" + strconv.Itoa(round)
}
