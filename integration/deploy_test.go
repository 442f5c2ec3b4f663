package integration

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// TestARollingDeployHandsTheInstancesToTheNewVersion is the documented rolling deploy on one
// host (docs/scaling-out.md): the new version starts beside the old one with
// --takeover-wait and waits for its wallet-dir locks; the old one gets SIGTERM mid-setup,
// finishes its running wallet step, stores its wallets, releases its locks and exits 0; the
// new one serves the same instances under the same names, and every escrow ends Ready with
// no wallet step lost or run twice.
func TestARollingDeployHandsTheInstancesToTheNewVersion(t *testing.T) {
	s, ctx, bin := processStack(t, 10*time.Minute)
	dir := filepath.Join(t.TempDir(), "host")
	old := startHost(t, ctx, s, bin, "old", dir)
	// A purge delay keeps each setup in its rounds for seconds, and the three run one after
	// another on the host's three instances, so the SIGTERM below lands mid-setup even on a
	// loaded machine; with none, a 100 ms poll could miss a sub-second Exchanging phase.
	delay := 3 * time.Second
	ids := startBatch(t, ctx, s, "d", 3, func(in *escrow.EscrowInput) { in.PurgeDelay = &delay })
	_, err := s.Starter.WaitUntil(ctx, ids[0], 100*time.Millisecond, func(st escrow.State) bool {
		return st.Phase != escrow.PhaseNotStarted && st.Phase != escrow.PhasePreparing
	})
	require.NoError(t, err)

	next := launchHost(t, ctx, s, bin, "new", dir, "--takeover-wait", "5m")
	require.Eventually(t, func() bool { return hasLine(next.proc, "waiting for the owner of a wallet dir to stop") },
		time.Minute, 100*time.Millisecond, "the new version waits for the old one: %s", next.proc.LogTail(2000))
	assert.False(t, next.proc.Exited(), "a worker told to wait does not refuse")
	assert.False(t, hasLine(next.proc, "serving wallet-rpc"), "nothing is served twice")

	midSetup := 0
	for _, id := range ids {
		st, err := s.Starter.Status(ctx, id)
		require.NoError(t, err)
		if st.Phase != escrow.PhaseReady && st.Phase != escrow.PhaseFailed {
			midSetup++
		}
	}
	require.Positive(t, midSetup, "the SIGTERM must land while a setup runs, or this test proves nothing")
	stopped := time.Now()
	require.NoError(t, old.proc.Stop(2*time.Minute), "the old version stops on SIGTERM: %s", old.proc.LogTail(2000))
	assert.NoError(t, old.proc.ExitErr(), "and exits 0")
	assert.True(t, hasLine(old.proc, "released wallet dir"))
	next.awaitServing(t, 2*time.Minute)
	handover := time.Since(stopped)
	assert.Equal(t, old.instances(), next.instances(), "the new version serves the same instances, so their queues go on")
	assert.True(t, hasLine(next.proc, "took over wallet dirs from the previous owner"))

	states := awaitReady(t, ctx, s, ids)
	for _, id := range ids {
		assertEveryStepRanOnce(t, ctx, s.Client, escrow.WorkflowID(id))
	}
	require.NoError(t, next.proc.Stop(time.Minute))
	checkWalletsOnDisk(t, ctx, states, next)
	t.Logf("SIGTERM with %d of %d setups in flight; to the new version serving: %.1f s", midSetup, len(ids), handover.Seconds())
}

// assertEveryStepRanOnce reads a workflow's history: every wallet step (an activity on a
// wallet-rpc queue) that started did so on its first attempt, so none was cut off by a
// stopping worker and retried.
func assertEveryStepRanOnce(t *testing.T, ctx context.Context, c client.Client, workflowID string) {
	t.Helper()
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	started, types := 0, map[int64]string{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && strings.HasPrefix(a.GetTaskQueue().GetName(), escrow.WalletTaskQueue("")) {
			types[ev.GetEventId()] = a.GetActivityType().GetName() + " on " + a.GetTaskQueue().GetName()
		}
		// The pool is offline, so the funding check after Ready fails and is retried by design.
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && types[a.GetScheduledEventId()] != "" && !strings.HasPrefix(types[a.GetScheduledEventId()], "CheckFunding ") {
			started++
			assert.EqualValues(t, 1, a.GetAttempt(), "%s: %s (event %d) was retried", workflowID, types[a.GetScheduledEventId()], ev.GetEventId())
		}
	}
	assert.Positive(t, started, "%s ran its steps", workflowID)
}
