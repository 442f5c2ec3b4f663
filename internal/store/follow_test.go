package store_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

func TestAFollowedPayoutIsReplacedByTheNextAndEndsWithTheUnwatch(t *testing.T) {
	s, _ := openStore(t)
	ctx := testCtx(t)
	a, b, c := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	require.NoError(t, s.FollowPayout(ctx, "paid", []string{a, b}, 10))
	require.NoError(t, s.FollowPayout(ctx, "other", []string{c}, 5))
	got, err := s.FollowedTxs(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.Followed{{EscrowID: "other", TxHash: c, Target: 5, Purpose: store.PurposePayout}, {EscrowID: "paid", TxHash: a, Target: 10, Purpose: store.PurposePayout}, {EscrowID: "paid", TxHash: b, Target: 10, Purpose: store.PurposePayout}}, got)

	require.NoError(t, s.FollowPayout(ctx, "paid", []string{b, c}, 10), "a rebuilt payout replaces the hashes")
	got, err = s.FollowedTxs(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.Followed{{EscrowID: "other", TxHash: c, Target: 5, Purpose: store.PurposePayout}, {EscrowID: "paid", TxHash: b, Target: 10, Purpose: store.PurposePayout}, {EscrowID: "paid", TxHash: c, Target: 10, Purpose: store.PurposePayout}}, got)

	require.NoError(t, s.Unwatch(ctx, "paid"), "the unwatch ends the following too")
	got, err = s.FollowedTxs(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.Followed{{EscrowID: "other", TxHash: c, Target: 5, Purpose: store.PurposePayout}}, got)

	assert.ErrorIs(t, s.FollowPayout(ctx, "paid", []string{"not-a-hash"}, 10), store.ErrInvalid)
	assert.ErrorIs(t, s.FollowPayout(ctx, "../x", []string{a}, 10), store.ErrInvalid)
}

// The funding payments are followed until the watcher has told the escrow they are deep enough
// (UnfollowFunding), and the payout's follow takes their place. A funding follow that comes
// after the payout's (a late attempt of its activity) leaves the payout followed.
func TestFundingPaymentsAreFollowedUntilToldAndNeverInstedOfThePayout(t *testing.T) {
	s, _ := openStore(t)
	ctx := testCtx(t)
	a, b, c := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	require.NoError(t, s.FollowFunding(ctx, "funding", []string{b, a, b}, 10))
	got, err := s.FollowedTxs(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.Followed{{EscrowID: "funding", TxHash: a, Target: 10, Purpose: store.PurposeFunding},
		{EscrowID: "funding", TxHash: b, Target: 10, Purpose: store.PurposeFunding}}, got, "a payment listed twice is followed once")

	require.NoError(t, s.UnfollowFunding(ctx, "funding"))
	got, err = s.FollowedTxs(ctx)
	require.NoError(t, err)
	assert.Empty(t, got, "told: no longer followed")

	require.NoError(t, s.FollowFunding(ctx, "funding", []string{a}, 10))
	require.NoError(t, s.FollowPayout(ctx, "funding", []string{c}, 10), "the payout takes the funding's place")
	require.NoError(t, s.FollowFunding(ctx, "funding", []string{a, b}, 10), "a late funding follow")
	require.NoError(t, s.UnfollowFunding(ctx, "funding"))
	got, err = s.FollowedTxs(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.Followed{{EscrowID: "funding", TxHash: c, Target: 10, Purpose: store.PurposePayout}}, got, "the payout stays followed")

	assert.ErrorIs(t, s.FollowFunding(ctx, "funding", []string{"not-a-hash"}, 10), store.ErrInvalid)
}
