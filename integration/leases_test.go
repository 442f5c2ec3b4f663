package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// TestARestartedWorkerDoesNotLeaseASetupsInstancesToAnother: the worker restarts while a
// setup holds all three instances (between two rounds). The leases lived in the old
// process's memory; the new one rebuilds them from visibility, so a second escrow started
// right after the restart waits for the first to be Ready instead of interleaving its
// wallets on the same instances.
func TestARestartedWorkerDoesNotLeaseASetupsInstancesToAnother(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := s.Starter.Start(ctx, input("first", 15*time.Second))
	require.NoError(t, err)
	_, err = s.Starter.WaitUntil(ctx, "first", 200*time.Millisecond, func(st escrow.State) bool {
		return st.Phase == escrow.PhaseExchanging && st.Round == 1
	})
	require.NoError(t, err)
	s.StopWorker()
	require.NoError(t, s.StartWorker())

	_, err = s.Starter.Start(ctx, input("second", 0))
	require.NoError(t, err)
	second, err := s.Starter.WaitUntil(ctx, "second", 200*time.Millisecond, func(st escrow.State) bool { return st.Assignment.Complete() })
	require.NoError(t, err)
	first, err := s.Starter.Status(ctx, "first")
	require.NoError(t, err)
	assert.Equal(t, escrow.PhaseReady, first.Phase, "the second setup got instances only once the first was done with them")

	// Once Ready, the first escrow polls for funding on its arbiter's instance, which the
	// second setup now holds: the poll stands back, so the second setup never reopens.
	ready, err := s.Starter.WaitReady(ctx, "second")
	require.NoError(t, err, "both setups complete")
	assert.Zero(t, ready.WalletOpens, "the first escrow's funding polls never closed the second setup's wallets")
	t.Logf("second assigned %+v after first reached %s", second.Assignment, first.Phase)
}
