package supervisor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xmr-escrow/xmr-escrow/internal/rpcinstance"
)

// names lays out a pool over dir as Start would, without starting any process.
func names(t *testing.T, dir string, count int) []string {
	t.Helper()
	s, err := prepare(context.Background(), Options{Count: count, Dir: dir})
	require.NoError(t, err)
	var out []string
	for _, in := range s.Instances() {
		assert.Equal(t, filepath.Join(dir, fmt.Sprintf("rpc-%d", len(out)+1)), in.WalletDir, "dirs keep their stable paths")
		out = append(out, in.Name)
	}
	return out
}

func TestTwoFreshHostsGetDisjointInstanceNames(t *testing.T) {
	a, b := names(t, t.TempDir(), 3), names(t, t.TempDir(), 3)
	seen := map[string]bool{}
	for _, n := range append(a, b...) {
		assert.Regexp(t, `^w-[0-9a-f]{12}$`, n)
		assert.False(t, seen[n], "%s named twice: two hosts would share its task queue", n)
		seen[n] = true
	}
}

func TestARestartedPoolKeepsItsNamesAndALegacyDirKeepsRpcN(t *testing.T) {
	dir := t.TempDir()
	// rpc-2 was served by the previous version: it holds a wallet, and no ID file.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "rpc-2"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rpc-2", "escrow-e1-vendor.keys"), []byte("k"), 0o600))
	first := names(t, dir, 3)
	assert.Equal(t, "rpc-2", first[1], "escrows whose history names rpc-2 keep reaching it")
	assert.Regexp(t, `^w-`, first[0])
	assert.Regexp(t, `^w-`, first[2])
	assert.Equal(t, first, names(t, dir, 3), "a restart reads the same names back")
	assert.Equal(t, first, names(t, dir, 2), "a smaller Count renames nobody and still serves rpc-3: its dir may hold wallets")
}

func TestAPoolWithAnOwnershipKeepsItsDirsAndACopiedDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	own := rpcinstance.NewOwnership(nil)
	defer own.Release()
	s, err := prepare(context.Background(), Options{Count: 2, Dir: dir, Ownership: own})
	require.NoError(t, err)
	for _, in := range s.Instances() {
		assert.True(t, own.Holds(in.WalletDir), "held until the caller releases them")
		id, ok := own.Identity(in.WalletDir)
		require.True(t, ok)
		assert.Equal(t, rpcinstance.IDCreated, id.Source, "for the worker's start-up log")
		assert.Equal(t, in.Name, id.ID)
	}
	_, err = prepare(context.Background(), Options{Count: 1, Dir: dir})
	var owned *rpcinstance.OwnedError
	assert.ErrorAs(t, err, &owned, "another pool on the same dirs is refused before it names anything")
	own.Release()

	b, err := os.ReadFile(filepath.Join(dir, "rpc-1", rpcinstance.InstanceIDFileName))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rpc-2", rpcinstance.InstanceIDFileName), b, 0o600))
	_, err = prepare(context.Background(), Options{Count: 2, Dir: dir})
	assert.ErrorContains(t, err, "both belong to instance")
}
