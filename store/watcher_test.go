package store_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/store"
)

// TestOneReplicaLeadsTheBlockWatcherAtATime: two replicas on one database; the second is
// refused while the first holds the lock, and takes it once the first lets go (as when it
// stops or its connection dies).
func TestOneReplicaLeadsTheBlockWatcherAtATime(t *testing.T) {
	s, dsn := openStore(t)
	keys, _ := newKeyring(t, "k2")
	other := openWith(t, dsn, keys)
	first, err := s.Lead(testCtx(t), "block-watcher/test")
	require.NoError(t, err)
	require.NotNil(t, first)
	require.NoError(t, first.Alive(testCtx(t)))

	second, err := other.Lead(testCtx(t), "block-watcher/test")
	require.NoError(t, err)
	assert.Nil(t, second, "a second replica stands by")
	elsewhere, err := other.Lead(testCtx(t), "block-watcher/another-namespace")
	require.NoError(t, err)
	require.NotNil(t, elsewhere, "each namespace has its own leader")
	elsewhere.Release()

	first.Release()
	second, err = other.Lead(testCtx(t), "block-watcher/test")
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
