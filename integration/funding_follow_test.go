package integration

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// TestAConfirmingPaymentFundsTheEscrowAtItsTenthBlockNotAtItsPoll: the escrow's polls are an
// hour apart. The buyer pays; the watcher's sightings (pool, block) bring checks that find the
// payment confirming, and the escrow asks the watcher to follow it. Ten blocks later the
// watcher reports it deep enough, and the escrow is funded then, with no poll in between; the
// watcher no longer follows it.
func TestAConfirmingPaymentFundsTheEscrowAtItsTenthBlockNotAtItsPoll(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st := ms.startWatched(ctx, t, "deep", 0)

	tx, err := ms.chain.Pay(ctx, st.Address, price)
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 1))
	st, err = ms.Starter.WaitUntil(ctx, "deep", 200*time.Millisecond, func(st escrow.State) bool {
		return slices.Contains(st.Funding.Watch.Followed, tx)
	})
	require.NoError(t, err, "the confirming payment is handed to the watcher to follow")
	assert.Empty(t, st.Funding.Watch.FollowFailed)
	assert.Equal(t, escrow.StatusAwaitingFunding, st.Status, "one confirmation of ten")
	checks := st.Funding.Checks

	require.NoError(t, ms.chain.Mine(ctx, 10))
	st, err = ms.Starter.WaitUntil(ctx, "deep", 200*time.Millisecond, func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
	require.NoError(t, err)
	assert.Equal(t, uint64(price), st.Funding.ConfirmedAtomic, "the wallet's check decided")
	assert.LessOrEqual(t, st.Funding.Checks-checks, 2, "the block's sighting and the report at the tenth block, no hourly poll")
	assert.True(t, slices.ContainsFunc(st.Funding.Watch.Seen, func(p escrow.PaymentSeen) bool { return p.TxHash == tx && p.Confirmations >= 10 }),
		"the watcher reported the payment deep enough: %+v", st.Funding.Watch.Seen)
	followed, err := ms.Store.FollowedTxs(ctx)
	require.NoError(t, err)
	assert.False(t, slices.ContainsFunc(followed, func(f store.Followed) bool { return f.EscrowID == "deep" }), "told once, then no longer followed")
	saveHistory(t, ms.Stack, "deep", "funding-followed")
}
