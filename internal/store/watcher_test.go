package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// TestOneReplicaLeadsTheBlockWatcherAtATime: two replicas on one database; the second is
// refused while the first holds the lock, and takes it once the first lets go (as when it
// stops or its connection dies).
func TestOneReplicaLeadsTheBlockWatcherAtATime(t *testing.T) {
	s, dsn := openStore(t)
	keys, _ := newKeyring(t, "k2")
	other := openWith(t, dsn, keys)
	first, err := s.Lead(testCtx(t), "block-watcher/test", 0)
	require.NoError(t, err)
	require.NotNil(t, first)
	require.NoError(t, first.Alive(testCtx(t)))

	second, err := other.Lead(testCtx(t), "block-watcher/test", 0)
	require.NoError(t, err)
	assert.Nil(t, second, "a second replica stands by")
	elsewhere, err := other.Lead(testCtx(t), "block-watcher/another-namespace", 0)
	require.NoError(t, err)
	require.NotNil(t, elsewhere, "each namespace has its own leader")
	elsewhere.Release()

	first.Release()
	second, err = other.Lead(testCtx(t), "block-watcher/test", 0)
	require.NoError(t, err)
	require.NotNil(t, second, "the lock passes on once released")
	second.Release()
}

// TestScannedBlocksFollowAReorgAndStayBounded: the watcher's memory of scanned blocks is
// read highest first, replaced at a height on a new branch, cut above a fork, and pruned.
func TestScannedBlocksFollowAReorgAndStayBounded(t *testing.T) {
	s, _ := openStore(t)
	for h := uint64(1); h <= 5; h++ {
		require.NoError(t, s.RecordScanned(testCtx(t), store.ScannedBlock{Height: h, Hash: "a"}, 3))
	}
	got, err := s.ScannedBlocks(testCtx(t), 10)
	require.NoError(t, err)
	assert.Equal(t, []store.ScannedBlock{{Height: 5, Hash: "a"}, {Height: 4, Hash: "a"}, {Height: 3, Hash: "a"}, {Height: 2, Hash: "a"}}, got, "kept 3 below the top")

	require.NoError(t, s.ForgetScannedAbove(testCtx(t), 3))
	require.NoError(t, s.RecordScanned(testCtx(t), store.ScannedBlock{Height: 4, Hash: "b"}, 3))
	got, err = s.ScannedBlocks(testCtx(t), 1)
	require.NoError(t, err)
	assert.Equal(t, []store.ScannedBlock{{Height: 4, Hash: "b"}}, got)
}

// TestAFrozenLeaderLosesTheLockWithinItsTTL: a holder that stops talking to PostgreSQL (a
// frozen process, a cut network) has its session ended by the server after ttl, which frees
// the lock for another replica; the frozen holder's own check then fails.
func TestAFrozenLeaderLosesTheLockWithinItsTTL(t *testing.T) {
	s, dsn := openStore(t)
	keys, _ := newKeyring(t, "k2")
	other := openWith(t, dsn, keys)
	const ttl = 1500 * time.Millisecond
	first, err := s.Lead(testCtx(t), "block-watcher/frozen", ttl)
	require.NoError(t, err)
	require.NotNil(t, first)
	defer first.Release()
	require.NoError(t, first.Alive(testCtx(t)), "the check confirms the lock itself")
	second, err := other.Lead(testCtx(t), "block-watcher/frozen", ttl)
	require.NoError(t, err)
	require.Nil(t, second, "held")

	start := time.Now()
	require.Eventually(t, func() bool {
		second, err = other.Lead(testCtx(t), "block-watcher/frozen", ttl)
		return err == nil && second != nil
	}, 10*time.Second, 100*time.Millisecond, "the server ends the silent session")
	defer second.Release()
	assert.GreaterOrEqual(t, time.Since(start), ttl-200*time.Millisecond, "not before ttl")
	ctx, cancel := context.WithTimeout(testCtx(t), time.Second)
	defer cancel()
	assert.Error(t, first.Alive(ctx), "the frozen holder finds out it no longer leads")
}

// TestUndeliveredNoticesAreKeptWithTheirBlock: notices are written with their block, kept
// once per sighting, read oldest first and deleted once delivered.
func TestUndeliveredNoticesAreKeptWithTheirBlock(t *testing.T) {
	s, _ := openStore(t)
	ctx := testCtx(t)
	n := store.Notice{EscrowID: "e1", TxHash: "aa", OutputIndex: 1, Height: 7, Payload: []byte(`{"Amount": 5}`)}
	require.NoError(t, s.RecordScannedWithNotices(ctx, store.ScannedBlock{Height: 7, Hash: "h"}, 10, []store.Notice{n, n}))
	pool := store.Notice{EscrowID: "e2", TxHash: "bb", InPool: true, Payload: []byte(`{}`)}
	require.NoError(t, s.SaveNotices(ctx, []store.Notice{pool}))
	got, err := s.Notices(ctx, 10)
	require.NoError(t, err)
	require.Len(t, got, 2, "the same sighting is kept once")
	assert.Equal(t, "e1", got[0].EscrowID)
	assert.JSONEq(t, `{"Amount": 5}`, string(got[0].Payload))
	assert.True(t, got[1].InPool)
	blocks, err := s.ScannedBlocks(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, []store.ScannedBlock{{Height: 7, Hash: "h"}}, blocks)

	require.NoError(t, s.DeleteNotice(ctx, got[0].ID))
	got, err = s.Notices(ctx, 10)
	require.NoError(t, err)
	assert.Len(t, got, 1)
}

// TestBackfillProgressIsKeptPerRegistration: a new registration needs a backfill until it is
// marked; registering again lower, or with another address, makes it pending again.
func TestBackfillProgressIsKeptPerRegistration(t *testing.T) {
	s, _ := openStore(t)
	ctx := testCtx(t)
	w := newWatch(t, "bf", 9, 100)
	require.NoError(t, s.RegisterWatch(ctx, w))
	pending, err := s.PendingBackfills(ctx)
	require.NoError(t, err)
	want := store.Backfill{EscrowID: "bf", Address: w.Address, FromHeight: 100}
	assert.Equal(t, []store.Backfill{want}, pending)

	require.NoError(t, s.MarkBackfilled(ctx, []store.Backfill{want}))
	pending, err = s.PendingBackfills(ctx)
	require.NoError(t, err)
	assert.Empty(t, pending)

	require.NoError(t, s.RegisterWatch(ctx, newWatch(t, "bf", 9, 90)))
	pending, err = s.PendingBackfills(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.Backfill{{EscrowID: "bf", Address: w.Address, FromHeight: 90}}, pending, "lowered: pending again")
	require.NoError(t, s.MarkBackfilled(ctx, []store.Backfill{want}), "a backfill from 100 does not cover 90")
	pending, err = s.PendingBackfills(ctx)
	require.NoError(t, err)
	assert.Len(t, pending, 1)

	other := newWatch(t, "bf", 10, 95)
	require.NoError(t, s.MarkBackfilled(ctx, []store.Backfill{{EscrowID: "bf", Address: w.Address, FromHeight: 90}}))
	require.NoError(t, s.RegisterWatch(ctx, other))
	require.NoError(t, s.MarkBackfilled(ctx, []store.Backfill{{EscrowID: "bf", Address: w.Address, FromHeight: 90}}))
	pending, err = s.PendingBackfills(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.Backfill{{EscrowID: "bf", Address: other.Address, FromHeight: 95}}, pending, "another address starts over")
}
