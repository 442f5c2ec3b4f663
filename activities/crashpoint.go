package activities

import (
	"strconv"
	"time"
)

// EnvCrashAt names a crash point at which the process SIGKILLs itself. It exists only for
// the worker crash test (integration/worker_crash_test.go), which runs the worker as its own
// process and needs it to die at an exact step of a setup, not wherever a poller happens to
// notice one. The value is a point ("create-wallet-created") or a point and a round
// ("round-stepped:2"), see CrashPointName; it is read once, at start. Only a binary built with
// the crashpoints build tag (crashpoint_on.go) acts on it: production binaries are built
// without it, and their crashAt is empty (crashpoint_off.go).
const EnvCrashAt = "XMR_ESCROW_TEST_CRASH_AT"

// The crash points, each at one spot of the wallet steps.
const (
	// CrashCreateCreated: the wallet-rpc created the wallet, it is not labelled yet.
	CrashCreateCreated = "create-wallet-created"
	// CrashCreateReturn: CreateWallet returns (the wallet made or found again); its result
	// is not reported yet.
	CrashCreateReturn = "create-wallet-return"
	// CrashPrepareStart: the round-0 message is asked for, in CreateWallet once the wallet is
	// made (its result not reported yet), or at the start of an older run's PrepareMultisig.
	CrashPrepareStart = "prepare-multisig-start"
	// CrashRoundStart (with a round): a round's step starts; its snapshot is not taken yet.
	CrashRoundStart = "round-start"
	// CrashRoundStepped (with a round): make_multisig or exchange_multisig_keys returned,
	// the wallet is not stored yet.
	CrashRoundStepped = "round-stepped"
	// CrashRoundDone (with a round) is where a round's step returns; it is only the trigger
	// of CrashPurgeWait.
	CrashRoundDone = "round-done"
	// CrashPurgeWait (with a round): the process dies PurgeWaitCrashDelay after all three
	// roles' steps of that round returned, that is while the setup waits out the purge
	// delay before the next round. The test must check that the kill fell inside that
	// timer (its history says when it started and fired): no step runs during it.
	CrashPurgeWait = "purge-wait"
	// CrashVerifyRead: VerifyMultisig read the wallet's state, before backup and cleanup.
	CrashVerifyRead = "verify-read"
	// CrashFundingStart: the first CheckFunding starts, so the escrow is Ready.
	CrashFundingStart = "check-funding-start"
)

// PurgeWaitCrashDelay is how long after a round's last step a CrashPurgeWait point kills:
// long enough for the workflow to start its purge timer, shorter than the test's delay.
const PurgeWaitCrashDelay = 1500 * time.Millisecond

// CrashPointName is EnvCrashAt's value for point in round (0: a point without a round).
func CrashPointName(point string, round int) string {
	if round == 0 {
		return point
	}
	return point + ":" + strconv.Itoa(round)
}
