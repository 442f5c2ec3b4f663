package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/xmr-escrow/xmr-escrow/devstack"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/localstack"
)

// killPoint is a moment of the setup at which the worker process is killed with SIGKILL.
type killPoint struct {
	name string
	at   func(c *crashRig) bool
}

// crashRig runs the worker as its own process, so it can die like one.
type crashRig struct {
	t      *testing.T
	s      *localstack.Stack
	bin    string
	proc   *devstack.Process
	starts int
	ctx    context.Context
}

func (r *crashRig) startWorker() {
	r.t.Helper()
	r.starts++
	args := workerArgs(r.s, r.s.RPCs...)
	log := filepath.Join(r.t.TempDir(), fmt.Sprintf("worker-%d.log", r.starts))
	var err error
	r.proc, err = devstack.StartProcess(r.ctx, "worker", r.bin, args, log)
	require.NoError(r.t, err)
}

// pending reports whether a step of that type is running right now in the live worker (not
// one left behind by a killed one, which only waits for its heartbeat timeout).
func (r *crashRig) pending(activity string) bool {
	d, err := r.s.Client.DescribeWorkflow(r.ctx, escrow.WorkflowID("crashy"), "")
	if err != nil {
		return false
	}
	for _, p := range d.RawResponse.GetPendingActivities() {
		if p.GetActivityType().GetName() == activity && p.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED &&
			strings.HasPrefix(p.GetLastWorkerIdentity(), fmt.Sprintf("%d@", r.proc.Pid())) {
			return true
		}
	}
	return false
}

// events counts history events of one type (and, for activities, one activity type).
func (r *crashRig) events(typ enumspb.EventType, activity string) int {
	n := 0
	it := r.s.Client.GetWorkflowHistory(r.ctx, escrow.WorkflowID("crashy"), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]string{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return n
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if ev.GetEventType() != typ {
			continue
		}
		if c := ev.GetActivityTaskCompletedEventAttributes(); c != nil && scheduled[c.GetScheduledEventId()] != activity {
			continue
		}
		n++
	}
	return n
}

// at reports whether the escrow's own state (its status query) says phase p, round n or later.
func (r *crashRig) at(p escrow.Phase, n int) bool {
	qctx, cancel := context.WithTimeout(r.ctx, time.Second)
	defer cancel()
	st, err := r.s.Starter.Status(qctx, "crashy")
	if err != nil {
		return false // the worker that answers queries is down
	}
	order := map[escrow.Phase]int{escrow.PhaseNotStarted: 0, escrow.PhasePreparing: 1, escrow.PhaseExchanging: 2, escrow.PhaseReady: 3}
	return order[st.Phase] > order[p] || st.Phase == p && st.Round >= n
}

// TestWorkerKilledAtEveryPointOfASetup kills the worker process at up to thirteen points of
// one setup (mid create, after the creates, at each round boundary, mid make_multisig and
// exchange_multisig_keys, during the purge timers, mid verify, at Ready) and restarts it
// each time; a point the setup outruns is logged and skipped.
// The escrow must end Ready with one address, one wallet per role and no snapshot left,
// and its history must show the retries.
func TestWorkerKilledAtEveryPointOfASetup(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	bin := workerBinary(t, ctx, s) // the worker runs as its own process here
	r := &crashRig{t: t, s: s, bin: bin, ctx: ctx}
	r.startWorker()
	t.Cleanup(func() { _ = r.proc.Stop(10 * time.Second) })

	round := func(n int) func(*crashRig) bool {
		return func(c *crashRig) bool { return c.at(escrow.PhaseExchanging, n) }
	}
	timer := func(n int) func(*crashRig) bool {
		return func(c *crashRig) bool {
			return c.events(enumspb.EVENT_TYPE_TIMER_STARTED, "") >= n && c.events(enumspb.EVENT_TYPE_TIMER_FIRED, "") < n
		}
	}
	points := []killPoint{
		{"mid create_wallet", func(c *crashRig) bool { return c.pending("CreateWallet") }},
		{"after a wallet is created", func(c *crashRig) bool {
			return c.events(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, "CreateWallet") >= 1
		}},
		{"after all wallets are created", func(c *crashRig) bool {
			return c.events(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, "CreateWallet") >= 3
		}},
		{"round 1 boundary", round(1)},
		{"mid make_multisig", func(c *crashRig) bool { return c.pending("MakeMultisig") }},
		{"purge timer after round 1", timer(1)},
		{"round 2 boundary", round(2)},
		{"mid exchange_multisig_keys (round 2)", func(c *crashRig) bool { return c.pending("ExchangeMultisigKeys") }},
		{"purge timer after round 2", timer(2)},
		{"round 3 boundary", round(3)},
		{"mid exchange_multisig_keys (round 3)", func(c *crashRig) bool {
			return c.at(escrow.PhaseExchanging, 3) && c.pending("ExchangeMultisigKeys")
		}},
		{"mid verify", func(c *crashRig) bool { return c.pending("VerifyMultisig") }},
		{"at Ready", func(c *crashRig) bool { return c.at(escrow.PhaseReady, 0) }},
	}
	in := input("crashy", 3*time.Second)
	_, err := s.Starter.Start(ctx, in)
	require.NoError(t, err)
	started := time.Now()
	killed := 0
	for _, p := range points {
		hit := false
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) {
			if p.at(r) {
				hit = true
				break
			}
			if p.name != "at Ready" && r.at(escrow.PhaseReady, 0) { // the setup outran this point
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !hit {
			t.Logf("kill point %q passed before it could be hit", p.name)
			continue
		}
		require.NoError(t, r.proc.Kill())
		killed++
		t.Logf("killed the worker: %s (%.1fs)", p.name, time.Since(started).Seconds())
		r.startWorker()
	}
	// Alone on the machine the test hits all 13 points; a loaded machine can outrun the
	// quickest ones (a 0.15 s exchange round), so fewer are required to keep CI honest but
	// stable; the log lists which were hit.
	assert.GreaterOrEqual(t, killed, 6, "the worker died at six or more points")

	ready, err := s.Starter.WaitReady(ctx, "crashy")
	require.NoError(t, err, "the escrow survives every crash")
	t.Logf("setup with %d worker crashes: %.1fs", killed, time.Since(started).Seconds())
	for _, role := range escrow.Roles {
		ms := inspectWallet(t, s, ready.Assignment.For(role), "crashy", role)
		assert.True(t, ms.Ready && ms.Multisig && ms.Threshold == 2 && ms.Total == 3, "%s: %+v", role, ms)
		assert.Equal(t, ready.Address, ms.Address, role)
	}
	assert.Len(t, walletFiles(t, s, "crashy"), 6, "one wallet per role, no snapshot or leftover")

	d, err := s.Client.DescribeWorkflow(ctx, escrow.WorkflowID("crashy"), "")
	require.NoError(t, err)
	retried := 0
	it := s.Client.GetWorkflowHistory(ctx, escrow.WorkflowID("crashy"), d.RawResponse.GetWorkflowExecutionInfo().GetExecution().GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > 1 {
			retried++
		}
	}
	assert.Positive(t, retried, "history shows the retried steps")
}
