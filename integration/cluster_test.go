package integration

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/store/storetest"
)

// restartAfter is how long a killed service stays down, as a host that reboots.
const restartAfter = 5 * time.Second

// startCluster starts the production-shaped Temporal cluster (devstack.StartCluster) with
// client certificates for the worker and the starter.
func startCluster(t *testing.T) *devstack.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs a real Temporal cluster on PostgreSQL (drop -short to run it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	started := time.Now()
	c, err := devstack.StartCluster(ctx, devstack.ClusterOptions{
		Dir: t.TempDir(), PostgresURL: storetest.ServerDSN(), Clients: []string{"worker", "starter"},
	})
	require.NoError(t, err, "start the Temporal cluster (make test builds the server; PostgreSQL must answer)")
	t.Cleanup(c.Stop)
	t.Logf("cluster of %v on PostgreSQL with mTLS ready in %.1fs", devstack.ClusterServices, time.Since(started).Seconds())
	return c
}

// TestTheReleasePathOnAnMTLSClusterThroughKilledServices runs escrows end to end through a
// Temporal cluster as production runs it: four services on PostgreSQL with mTLS, bootstrapped
// by the compose stack's own bootstrap. The history service is SIGKILLed during a setup's
// purge timer and the matching service during a payout; each comes back five seconds later.
// Every escrow completes, each setup step completed once per role, the timers fired, and
// the operators' visibility queries find the right escrows on PostgreSQL visibility.
func TestTheReleasePathOnAnMTLSClusterThroughKilledServices(t *testing.T) {
	cluster := startCluster(t)
	c := regtest(t)
	cut := newDaemonCut(t, c.Daemon.Address)
	workerConn := cluster.ClientOptions("worker")
	s := startStackWith(t, stackOptions{rpcs: 3, chain: c, daemon: cut.address(), temporal: &workerConn})
	ms := &moneyStack{Stack: s, chain: c}
	ms.vendor, ms.buyer = payeeAddresses(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	// Two escrows: "killed" lives through both kills, "parked" is the baseline and the
	// escrow that an operator's payout_blocked query must find.
	killed, parked := "cluster-killed", "cluster-parked"
	for _, id := range []string{killed, parked} {
		in := input(id, 10*time.Second)
		in.AmountAtomic = price
		in.VendorPayoutAddress, in.BuyerRefundAddress = ms.vendor, ms.buyer
		in.Timing = quickTiming()
		_, err := ms.Starter.Start(ctx, in)
		require.NoError(t, err)
	}

	// SIGKILL history while the first escrow's purge timer runs.
	purge := waitForEvent(t, ctx, s.Client, killed, enumspb.EVENT_TYPE_TIMER_STARTED)
	killedAt := time.Now()
	require.NoError(t, cluster.Kill("history"))
	time.Sleep(restartAfter)
	require.NoError(t, cluster.Start(ctx, "history"))
	restarted := time.Now()
	next := waitForEventAfter(t, ctx, s.Client, killed, killedAt)
	t.Logf("history killed during a purge timer: the escrow's next step (%s) %.1fs after the kill, %.1fs after the restart",
		next.GetEventType(), next.GetEventTime().AsTime().Sub(killedAt).Seconds(), next.GetEventTime().AsTime().Sub(restarted).Seconds())

	for _, id := range []string{killed, parked} {
		st, err := ms.Starter.WaitReady(ctx, id)
		require.NoError(t, err, "%s survives the history service's crash", id)
		_, err = c.Pay(ctx, st.Address, price)
		require.NoError(t, err)
	}
	require.NoError(t, c.Mine(ctx, 11))
	for _, id := range []string{killed, parked} {
		_, err := ms.Starter.WaitUntil(ctx, id, 500*time.Millisecond, func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
		require.NoError(t, err)
	}

	// SIGKILL matching once the release's payout is under way.
	_, err := ms.Starter.Decide(ctx, killed, escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
	require.NoError(t, err)
	_, err = ms.Starter.WaitUntil(ctx, killed, 100*time.Millisecond, func(st escrow.State) bool { return st.Payout != nil })
	require.NoError(t, err)
	killedAt = time.Now()
	require.NoError(t, cluster.Kill("matching"))
	time.Sleep(restartAfter)
	require.NoError(t, cluster.Start(ctx, "matching"))
	restarted = time.Now()
	next = waitForEventAfter(t, ctx, s.Client, killed, restarted)
	t.Logf("matching killed during a payout: the escrow's next step after the restart (%s) %.1fs after the kill, %.1fs after the restart",
		next.GetEventType(), next.GetEventTime().AsTime().Sub(killedAt).Seconds(), next.GetEventTime().AsTime().Sub(restarted).Seconds())
	st := ms.settle(t, ctx, killed, escrow.StatusCompleted)
	ms.assertReceived(t, ctx, st, ms.vendor)

	// The other payout parks: monerod goes away as it is submitted.
	cut.armed.Store(true)
	_, err = ms.Starter.Decide(ctx, parked, escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
	require.NoError(t, err)
	ms.waitFor(t, ctx, parked, "payout_blocked", func(st escrow.State) bool { return st.Status == escrow.StatusPayoutBlocked })

	t.Run("the operators' visibility queries answer on PostgreSQL", func(t *testing.T) {
		var blocked []string
		require.Eventually(t, func() bool {
			runs, err := ms.Starter.ListByStatus(ctx, escrow.StatusPayoutBlocked)
			blocked = blocked[:0]
			for _, r := range runs {
				blocked = append(blocked, r.WorkflowID)
			}
			return err == nil && len(blocked) > 0
		}, 30*time.Second, 500*time.Millisecond)
		assert.Equal(t, []string{escrow.WorkflowID(parked)}, blocked, `EscrowStatus = "payout_blocked"`)
		pst, err := ms.Starter.Status(ctx, parked)
		require.NoError(t, err)
		inst := pst.Assignment.Buyer
		res, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("%s = '%s'", escrow.SearchAttrInstances.GetName(), inst)})
		require.NoError(t, err)
		var on []string
		for _, e := range res.GetExecutions() {
			on = append(on, e.GetExecution().GetWorkflowId())
		}
		kst, err := ms.Starter.Status(ctx, killed)
		require.NoError(t, err)
		want := []string{escrow.WorkflowID(parked)}
		if slices.Contains([]string{kst.Assignment.Buyer, kst.Assignment.Vendor, kst.Assignment.Arbiter}, inst) {
			want = append(want, escrow.WorkflowID(killed))
		}
		slices.Sort(on)
		slices.Sort(want)
		assert.Equal(t, want, on, "EscrowInstances = %q finds the escrows placed there", inst)
		n, err := s.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: fmt.Sprintf("ExecutionStatus = 'Running' AND %s IN ('%s')", escrow.SearchAttrInstances.GetName(), inst)})
		require.NoError(t, err)
		assert.Positive(t, n.GetCount(), "the scaling-out guide's count query")
	})

	cut.down.Store(false)
	ms.settle(t, ctx, parked, escrow.StatusCompleted)

	// No step ran twice for the crashes: each setup step completed as often as on the
	// baseline escrow, once per role; the timer the history service died under fired.
	steps := []string{"CreateWallet", "MakeMultisig", "ExchangeMultisigKeys", "VerifyMultisig"}
	got, base := completions(t, ctx, s.Client, killed), completions(t, ctx, s.Client, parked)
	for _, step := range steps {
		assert.Equal(t, base[step], got[step], "%s completions: the killed escrow against the baseline", step)
		assert.Positive(t, got[step], step)
		assert.Zero(t, got[step]%len(escrow.Roles), "%s completed once per role", step)
	}
	events, err := historyEvents(ctx, s.Client, killed)
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(events, func(ev *historypb.HistoryEvent) bool {
		return ev.GetTimerFiredEventAttributes().GetStartedEventId() == purge.GetEventId()
	}), "the purge timer that ran through the history service's crash fired")
	require.Len(t, ms.incomingTo(t, ctx, ms.vendor), 2, "one payout per escrow on the chain, none twice")
}

// waitForEvent waits until the escrow's history has an event of type typ, and returns it.
func waitForEvent(t *testing.T, ctx context.Context, c client.Client, id string, typ enumspb.EventType) *historypb.HistoryEvent {
	t.Helper()
	var found *historypb.HistoryEvent
	require.Eventually(t, func() bool {
		for _, ev := range eventsWhileDown(ctx, c, id) {
			if ev.GetEventType() == typ {
				found = ev
				return true
			}
		}
		return false
	}, 5*time.Minute, 100*time.Millisecond, "%s: no %s event", id, typ)
	return found
}

// waitForEventAfter waits for the escrow's first history event written after at (a workflow
// task or step that the cluster could only record once the killed service was back).
func waitForEventAfter(t *testing.T, ctx context.Context, c client.Client, id string, at time.Time) *historypb.HistoryEvent {
	t.Helper()
	var found *historypb.HistoryEvent
	require.Eventually(t, func() bool {
		for _, ev := range eventsWhileDown(ctx, c, id) {
			if ev.GetEventTime().AsTime().After(at) {
				found = ev
				return true
			}
		}
		return false
	}, 5*time.Minute, 100*time.Millisecond, "%s: no step after the kill", id)
	return found
}

// completions counts the escrow's completed activities by type, and its started and fired timers.
func completions(t *testing.T, ctx context.Context, c client.Client, id string) counts {
	out := counts{}
	scheduled := map[int64]string{}
	events, err := historyEvents(ctx, c, id)
	require.NoError(t, err, "read the history of %s", id)
	for _, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[ev.GetEventId()] = ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			out[scheduled[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]]++
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			out[timerStarted]++
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			out[timerFired]++
		}
	}
	return out
}

// historyEvents reads the escrow's whole history.
func historyEvents(ctx context.Context, c client.Client, id string) ([]*historypb.HistoryEvent, error) {
	var out []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(ctx, escrow.WorkflowID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// eventsWhileDown reads the history, or nothing while a killed service keeps the cluster
// from answering (the callers poll until it does).
func eventsWhileDown(ctx context.Context, c client.Client, id string) []*historypb.HistoryEvent {
	events, _ := historyEvents(ctx, c, id)
	return events
}
