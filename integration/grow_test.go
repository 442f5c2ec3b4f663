package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// TestSetupsWaitingThroughPurgeTimersGrowThePool: three setups arrive at once on a pool of
// three instances. Each holds its three instances idle through two purge timers, so without
// growth they would run one after another. The pool grows instead: the waiting setups get
// instances of their own and run at the same time, none of them reopens a wallet, and a
// restarted worker serves the grown instances (they hold the escrows' wallets).
func TestSetupsWaitingThroughPurgeTimersGrowThePool(t *testing.T) {
	s := startStackWith(t, stackOptions{rpcs: 3, grow: 9})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ids := []string{"g1", "g2", "g3"}
	results := make([]escrow.State, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			if _, err := s.Starter.Start(ctx, input(id, 8*time.Second)); err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = s.Starter.WaitReady(ctx, id)
		})
	}
	wg.Wait()
	owner := map[string]string{}
	shared := 0
	for i, id := range ids {
		require.NoError(t, errs[i], id)
		assert.Zero(t, results[i].WalletOpens, "%s: every wallet stayed open from create to ready", id)
		a := results[i].Assignment
		for _, in := range []string{a.Buyer, a.Vendor, a.Arbiter} {
			if prev, ok := owner[in]; ok && prev != id {
				shared++
			}
			owner[in] = id
		}
	}
	assert.GreaterOrEqual(t, s.Pool.Size(), 6, "setups waiting for a lease grew the pool")
	assert.LessOrEqual(t, s.Pool.Size(), 9, "never past its budget")
	assert.Less(t, shared, 6, "at least two setups ran on instances of their own: %v", owner)
	t.Logf("pool grew to %d instances; instance → escrow %v", s.Pool.Size(), owner)

	// A restarted worker serves every grown instance: the escrows' wallets live there.
	s.StopWorker()
	require.NoError(t, s.StartWorker())
	served := map[string]bool{}
	for _, st := range s.Worker.Stats() {
		served[st.Instance] = true
	}
	for in := range owner {
		assert.True(t, served[in], "instance %s is served after the restart", in)
	}
}
