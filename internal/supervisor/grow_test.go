package supervisor

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestARestartServesEveryGrownWalletDir: the dirs a Grow added hold escrows' wallets, so a
// restarted pool must serve up to the highest rpc-N, not just its configured Count.
func TestARestartServesEveryGrownWalletDir(t *testing.T) {
	dir := t.TempDir()
	assert.Zero(t, grownDirs(dir))
	for _, d := range []string{"rpc-1", "rpc-2", "rpc-7", "rpc-x", ".snapshots"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o700))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rpc-9"), nil, 0o600), "a file is not a wallet dir")
	assert.Equal(t, 7, grownDirs(dir))
	assert.Zero(t, grownDirs(filepath.Join(dir, "missing")))
}

// TestGrowStaysWithinItsBudget: room never exceeds Max, and without Max the pool is fixed.
func TestGrowStaysWithinItsBudget(t *testing.T) {
	s := &Supervisor{o: Options{Count: 3}}
	assert.Zero(t, s.room(3), "no Max: a fixed pool")
	s.o.Max = 9
	assert.Equal(t, 6, s.room(3))
	assert.Zero(t, s.room(9))
	assert.Zero(t, s.room(12), "never negative room")
}
