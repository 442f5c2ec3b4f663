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
	got, err := s.FollowedPayouts(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.Followed{{EscrowID: "other", TxHash: c, Target: 5}, {EscrowID: "paid", TxHash: a, Target: 10}, {EscrowID: "paid", TxHash: b, Target: 10}}, got)

	require.NoError(t, s.FollowPayout(ctx, "paid", []string{b, c}, 10), "a rebuilt payout replaces the hashes")
	got, err = s.FollowedPayouts(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.Followed{{EscrowID: "other", TxHash: c, Target: 5}, {EscrowID: "paid", TxHash: b, Target: 10}, {EscrowID: "paid", TxHash: c, Target: 10}}, got)

	require.NoError(t, s.Unwatch(ctx, "paid"), "the unwatch ends the following too")
	got, err = s.FollowedPayouts(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.Followed{{EscrowID: "other", TxHash: c, Target: 5}}, got)

	assert.ErrorIs(t, s.FollowPayout(ctx, "paid", []string{"not-a-hash"}, 10), store.ErrInvalid)
	assert.ErrorIs(t, s.FollowPayout(ctx, "../x", []string{a}, 10), store.ErrInvalid)
}
