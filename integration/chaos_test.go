package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// TestWalletRPCKilledMidSetupIsRestartedAndTheEscrowCompletes kills the buyer's wallet-rpc
// (SIGKILL, as a crash) while the first key-exchange round runs. The supervisor restarts
// it on the same port; the steps queued for it wait, the interrupted one is retried from its
// snapshot, and the escrow ends Ready with one wallet per role.
func TestWalletRPCKilledMidSetupIsRestartedAndTheEscrowCompletes(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	run, err := s.Starter.Start(ctx, input("crash", 2*time.Second))
	require.NoError(t, err)
	st, err := s.Starter.WaitUntil(ctx, "crash", 20*time.Millisecond, func(st escrow.State) bool {
		return st.Phase == escrow.PhaseExchanging || st.Phase == escrow.PhaseFailed
	})
	require.NoError(t, err)
	victim := st.Assignment.Buyer
	require.NoError(t, s.Pool.Kill(victim))

	ready, err := s.Starter.WaitReady(ctx, "crash")
	require.NoError(t, err, "the escrow survives a wallet-rpc crash")
	require.Len(t, ready.Address, escrow.AddressLength)
	assert.Equal(t, int64(1), s.Pool.Restarts(victim))
	for _, role := range escrow.Roles {
		ms := inspectWallet(t, s, ready.Assignment.For(role), "crash", role)
		assert.True(t, ms.Ready, role)
		assert.Equal(t, ready.Address, ms.Address, role)
	}
	assert.Len(t, walletFiles(t, s, "crash"), 6, "one wallet per role, no snapshot left")

	// The history shows the retry: a step on the killed instance started more than once.
	retried := false
	it := s.Client.GetWorkflowHistory(ctx, run.WorkflowID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > 1 {
			retried = true
		}
	}
	assert.True(t, retried, "a step was retried after the crash")
}
