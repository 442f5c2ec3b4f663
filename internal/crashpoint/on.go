//go:build crashpoints

package crashpoint

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

// Built says this binary acts on Env (built with the crashpoints tag).
const Built = true

// crashPoint and crashRound are the point this process dies at ("" in production).
var crashPoint, crashRound = parseCrashPoint(os.Getenv(Env))

// roundsDone counts the round steps that returned in this process, for PurgeWait.
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

// At kills this process, with SIGKILL and at once, when point (in round, 0 for none) is
// the crash point Env names. Without Env it is one string comparison.
func At(point string, round int) {
	if crashPoint == "" {
		return
	}
	switch {
	case point == crashPoint && round == crashRound:
		crash(point, round)
	case point == RoundDone && crashPoint == PurgeWait && round == crashRound:
		if roundsDone.Add(1) == escrow.Total {
			time.AfterFunc(PurgeWaitDelay, func() { crash(PurgeWait, round) })
		}
	}
}

// crash says which point it reached (the test checks it did) and SIGKILLs the process: no
// deferred call, no graceful stop, nothing reported to Temporal.
func crash(point string, round int) {
	fmt.Fprintf(os.Stderr, "%s: reached crash point %s, SIGKILL pid %d\n", Env, Name(point, round), os.Getpid())
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way; nothing may run after the point
}
