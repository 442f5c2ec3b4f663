package walletproc

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMoneroBinaryLooksAtTheOverrideThenTheCacheThenPATH: the 0.18.5.3 that `make tools`
// caches wins over whatever monero is on PATH (bookworm's 0.18.0.0, say); an override wins
// over both.
func TestMoneroBinaryLooksAtTheOverrideThenTheCacheThenPATH(t *testing.T) {
	fake := func(dir string) string {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		p := filepath.Join(dir, "monerod")
		require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755))
		return p
	}
	cache, path := t.TempDir(), t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("PATH", path)
	t.Setenv("TEST_MONEROD", "")
	onPath := fake(path)

	got, err := MoneroBinary("monerod", "TEST_MONEROD")
	require.NoError(t, err)
	assert.Equal(t, onPath, got, "no cache: PATH")

	dir, err := MoneroBinDir()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cache, "xmr-escrow", "monero-"+MoneroVersion, "bin"), dir)
	cached := fake(dir)
	got, err = MoneroBinary("monerod", "TEST_MONEROD")
	require.NoError(t, err)
	assert.Equal(t, cached, got, "the cache before PATH")

	override := fake(filepath.Join(t.TempDir(), "own"))
	t.Setenv("TEST_MONEROD", override)
	got, err = MoneroBinary("monerod", "TEST_MONEROD")
	require.NoError(t, err)
	assert.Equal(t, override, got, "the override first")

	t.Setenv("TEST_MONEROD", "")
	require.NoError(t, os.Remove(cached))
	require.NoError(t, os.Remove(onPath))
	_, err = MoneroBinary("monerod", "TEST_MONEROD")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "looked at $TEST_MONEROD, "+cached+", $PATH")
	assert.Contains(t, err.Error(), "run `make tools`")
}
