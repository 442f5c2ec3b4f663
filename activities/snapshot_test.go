package activities

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
)

// TestRoundSnapshotsAndRestoredWalletsArePrivate: a round's snapshot holds a copy of the
// wallet's keys file. Its dirs are 0700 and its files 0600, as wallet-rpc makes the wallet's
// own, and so are the files a retry restores (written under a temporary name, then renamed).
func TestRoundSnapshotsAndRestoredWalletsArePrivate(t *testing.T) {
	tw := newTestWallet(t)
	const name = "snapshot-modes"
	for _, f := range walletFiles(name) {
		require.NoError(t, os.WriteFile(filepath.Join(tw.w.dir, f), []byte("before "+f), 0o600))
	}
	tw.env.RegisterActivityWithOptions(func(ctx context.Context) (bool, error) {
		return tw.w.snapshotOrRestore(ctx, name, 1)
	}, activity.RegisterOptions{Name: "snapshotOrRestore"})
	snapOrRestore := func() bool {
		t.Helper()
		v, err := tw.env.ExecuteActivity("snapshotOrRestore")
		require.NoError(t, err)
		var restored bool
		require.NoError(t, v.Get(&restored))
		return restored
	}

	require.False(t, snapOrRestore(), "the first attempt takes the snapshot")
	snap := tw.w.snapshotPath(name, 1)
	for _, d := range []string{filepath.Join(tw.w.dir, snapshotDir), filepath.Dir(snap), snap} {
		assertPerm(t, d, 0o700)
	}
	for _, f := range walletFiles(name) {
		assertPerm(t, filepath.Join(snap, f), 0o600)
		require.NoError(t, os.WriteFile(filepath.Join(tw.w.dir, f), []byte("after "+f), 0o600))
	}

	require.True(t, snapOrRestore(), "the retry restores it")
	for _, f := range walletFiles(name) {
		p := filepath.Join(tw.w.dir, f)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, "before "+f, string(b))
		assertPerm(t, p, 0o600)
	}
}

func assertPerm(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, want, fi.Mode().Perm(), "mode of %s", path)
}
