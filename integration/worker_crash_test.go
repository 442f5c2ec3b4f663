package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/crashpoint"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/localstack"
)

// crashPoint is a moment of the setup at which the worker process SIGKILLs itself
// (crashpoint.Env), and what the escrow's history says had happened by then.
type crashPoint struct {
	name  string
	point string
	// done are the counts of completed steps (by activity type) and of purge timers
	// started and fired that the history must show right after the crash.
	done counts
}

// counts are completed activities by type, and timerStarted, timerFired.
type counts map[string]int

const (
	timerStarted = "timer started"
	timerFired   = "timer fired"
)

// crashRig runs the worker as its own process, so it can die like one.
type crashRig struct {
	t      *testing.T
	s      *localstack.Stack
	bin    string
	proc   *devstack.Process
	log    string
	logs   []string
	starts int
	ctx    context.Context
}

// startWorker starts a worker process that dies at point ("" for none).
func (r *crashRig) startWorker(point string) {
	r.t.Helper()
	r.starts++
	r.t.Setenv(crashpoint.Env, point) // read by the worker process at its start
	r.log = filepath.Join(r.t.TempDir(), fmt.Sprintf("worker-%d.log", r.starts))
	r.logs = append(r.logs, r.log)
	var err error
	r.proc, err = devstack.StartProcess(r.ctx, "worker", r.bin, workerArgs(r.s, r.s.RPCs...), r.log)
	require.NoError(r.t, err)
}

// awaitCrash waits for the worker to kill itself at p, and checks that it did: killed by
// SIGKILL, after saying it reached the point, with the history p expects.
func (r *crashRig) awaitCrash(i int, p crashPoint, within time.Duration) {
	r.t.Helper()
	select {
	case <-r.proc.Done():
	case <-time.After(within):
		log, _ := os.ReadFile(r.log)
		r.t.Fatalf("crash point %d %q (%s) was not reached within %s; worker log:\n%s", i+1, p.name, p.point, within, tail(string(log), 4000))
	}
	var ee *exec.ExitError
	ok := errors.As(r.proc.ExitErr(), &ee)
	log, _ := os.ReadFile(r.log)
	require.True(r.t, ok && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL,
		"crash point %q: the worker must die by SIGKILL, got %v; log:\n%s", p.name, r.proc.ExitErr(), tail(string(log), 4000))
	require.Contains(r.t, string(log), "reached crash point "+p.point, "crash point %q: the worker died elsewhere", p.name)
	got := r.progress()
	for k, want := range p.done {
		assert.Equal(r.t, want, got[k], "crash point %q: %s in history", p.name, k)
	}
}

// progress counts completed activities by type, and started and fired timers (the purge
// waits: the setup has no other timers once its instances are leased).
func (r *crashRig) progress() counts {
	return completions(r.t, r.ctx, r.s.Client, "crashy")
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// crashPoints are the thirteen moments of a setup the worker dies at, in the order one
// setup passes them. Each is a spot in the wallet steps (internal/crashpoint) except
// the purge waits, which no step runs in: there the worker dies a moment after the round's
// last step returned, and the history proves the kill fell between the timer's start and
// its firing.
func crashPoints() []crashPoint {
	at := crashpoint.Name
	const (
		create, prepare, mk, exchange, verify = "CreateWallet", "PrepareMultisig", "MakeMultisig", "ExchangeMultisigKeys", "VerifyMultisig"
	)
	return []crashPoint{
		{"mid create_wallet (created, not labelled)", at(crashpoint.CreateCreated, 0), counts{create: 0}},
		{"after a wallet is created (result not reported)", at(crashpoint.CreateReturn, 0), counts{create: 0}},
		{"a wallet made, before its round-0 message", at(crashpoint.PrepareStart, 0), counts{create: 0}},
		{"round 1 boundary", at(crashpoint.RoundStart, 1), counts{create: 3, mk: 0}},
		{"mid make_multisig (stepped, not stored)", at(crashpoint.RoundStepped, 1), counts{create: 3, mk: 0}},
		{"purge timer after round 1", at(crashpoint.PurgeWait, 1), counts{mk: 3, exchange: 0, timerStarted: 1, timerFired: 0}},
		{"round 2 boundary", at(crashpoint.RoundStart, 2), counts{timerFired: 1, exchange: 0}},
		{"mid exchange_multisig_keys (round 2)", at(crashpoint.RoundStepped, 2), counts{exchange: 0}},
		{"purge timer after round 2", at(crashpoint.PurgeWait, 2), counts{exchange: 3, timerStarted: 2, timerFired: 1}},
		{"round 3 boundary", at(crashpoint.RoundStart, 3), counts{timerFired: 2, exchange: 3}},
		{"mid exchange_multisig_keys (round 3)", at(crashpoint.RoundStepped, 3), counts{exchange: 3}},
		{"mid verify", at(crashpoint.VerifyRead, 0), counts{exchange: 6, verify: 0}},
		{"at Ready (first funding check)", at(crashpoint.FundingStart, 0), counts{verify: 3, "CheckFunding": 0}},
	}
}

// TestWorkerKilledAtEveryPointOfASetup runs one setup through thirteen worker crashes (mid
// create, after the creates, at each round boundary, mid make_multisig and
// exchange_multisig_keys, during the purge timers, mid verify, at Ready): each worker
// process is started to SIGKILL itself at the next point, and must reach it; the last one
// runs without a crash point. The escrow must end Ready with one address, one wallet per
// role and no snapshot left, and its history must show the retries.
func TestWorkerKilledAtEveryPointOfASetup(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	bin := workerBinary(t, ctx, s, "crashpoints") // its own process, with the crash points built in
	r := &crashRig{t: t, s: s, bin: bin, ctx: ctx}
	t.Cleanup(func() {
		if r.proc != nil {
			_ = r.proc.Stop(10 * time.Second)
		}
	})

	// The purge wait must outlast crashpoint.PurgeWaitDelay with room to spare.
	in := input("crashy", 4*time.Second)
	_, err := s.Starter.Start(ctx, in)
	require.NoError(t, err)
	started := time.Now()
	for i, p := range crashPoints() {
		r.startWorker(p.point)
		// A crash mid-step is noticed at the step's heartbeat timeout (15 s), then retried.
		r.awaitCrash(i, p, 2*time.Minute)
		t.Logf("worker %d died at %q (%s) at %.1fs", i+1, p.name, p.point, time.Since(started).Seconds())
	}
	r.startWorker("")

	ready, err := s.Starter.WaitReady(ctx, "crashy")
	require.NoError(t, err, "the escrow survives every crash")
	t.Logf("setup with %d worker crashes: %.1fs", len(crashPoints()), time.Since(started).Seconds())
	for _, role := range escrow.Roles {
		ms := inspectWallet(t, s, ready.Assignment.For(role), "crashy", role)
		assert.True(t, ms.Ready && ms.Multisig && ms.Threshold == 2 && ms.Total == 3, "%s: %+v", role, ms)
		assert.Equal(t, ready.Address, ms.Address, role)
	}
	assert.Len(t, walletFiles(t, s, "crashy"), 6, "one wallet per role, no snapshot or leftover")

	// Every step a crash interrupted ran again (each role's step has its own attempts, so a
	// step killed twice may show two second attempts rather than a third).
	attempts := map[string]int32{}
	scheduled := map[int64]string{}
	it := s.Client.GetWorkflowHistory(ctx, escrow.WorkflowID("crashy"), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			name := scheduled[a.GetScheduledEventId()]
			attempts[name] = max(attempts[name], a.GetAttempt())
		}
	}
	// CreateWallet also asks for the round-0 message: PrepareMultisig is not a step of a
	// setup since fewer-setup-steps, and its crash point is inside CreateWallet.
	for _, step := range []string{"CreateWallet", "MakeMultisig", "ExchangeMultisigKeys", "VerifyMultisig"} {
		assert.GreaterOrEqual(t, attempts[step], int32(2), "history shows %s retried after its crash", step)
	}
	// A round killed after its step had advanced the wallet was rerun from its snapshot.
	var logs strings.Builder
	for _, l := range r.logs {
		b, err := os.ReadFile(l)
		require.NoError(t, err)
		logs.Write(b)
	}
	for n := 1; n <= escrow.Rounds; n++ {
		assert.Regexp(t, `restored wallet from pre-round snapshot.*round-`+strconv.Itoa(n), logs.String(), "round %d restored", n)
	}
}
