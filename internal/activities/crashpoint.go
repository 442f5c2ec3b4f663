package activities

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// EnvCrashAt names a crash point at which the process SIGKILLs itself. It exists only for
// the worker crash test (integration/worker_crash_test.go), which runs the worker as its own
// process and needs it to die at an exact step of a setup, not wherever a poller happens to
// notice one; production never sets it. The value is a point ("create-wallet-created") or a
// point and a round ("round-stepped:2"), see CrashPointName; it is read once, at start.
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

// crashPoint and crashRound are the point this process dies at ("" in production).
var crashPoint, crashRound = parseCrashPoint(os.Getenv(EnvCrashAt))

// roundsDone counts the round steps that returned in this process, for CrashPurgeWait.
var roundsDone atomic.Int32

func parseCrashPoint(v string) (string, int) {
	point, r, ok := strings.Cut(v, ":")
	if !ok {
		return v, 0
	}
	n, err := strconv.Atoi(r)
	if err != nil || n <= 0 {
		return point, -1 // matches no call: the test times out naming the point
	}
	return point, n
}

// crashAt kills this process, with SIGKILL and at once, when point (in round, 0 for none) is
// the crash point EnvCrashAt names. Without EnvCrashAt it is one string comparison.
func crashAt(point string, round int) {
	if crashPoint == "" {
		return
	}
	switch {
	case point == crashPoint && round == crashRound:
		crash(point, round)
	case point == CrashRoundDone && crashPoint == CrashPurgeWait && round == crashRound:
		if roundsDone.Add(1) == escrow.Total {
			time.AfterFunc(PurgeWaitCrashDelay, func() { crash(CrashPurgeWait, round) })
		}
	}
}

// crash says which point it reached (the test checks it did) and SIGKILLs the process: no
// deferred call, no graceful stop, nothing reported to Temporal.
func crash(point string, round int) {
	fmt.Fprintf(os.Stderr, "%s: reached crash point %s, SIGKILL pid %d\n", EnvCrashAt, CrashPointName(point, round), os.Getpid())
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way; nothing may run after the point
}
