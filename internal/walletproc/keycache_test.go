package walletproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/walletproc/proctest"
)

// TestTheKeyCacheMakesNoRSAKeyInAWalletRPC: stock wallet-rpc generates an RSA-4096 key on
// every create_wallet and open_wallet (1–2 CPU-s each); with the key cache preloaded, the
// first is the key this process handed over and every later one a copy, in every instance
// it starts, while wallets are made and opened as before. Without it, OpenSSL generates each
// one (the library is not called at all).
func TestTheKeyCacheMakesNoRSAKeyInAWalletRPC(t *testing.T) {
	proctest.SkipShort(t)
	keys := filepath.Join(t.TempDir(), "keys.log")
	t.Setenv(EnvKeyCacheLog, keys) // not parallel: the children inherit this environment
	bin, err := Binary()
	require.NoError(t, err)
	require.True(t, takesKeyCache(bin), "%s does not link OpenSSL's RSA_generate_key_ex dynamically; the tests need Debian's monero package (%s)", bin, howToGetMonero)
	_, err = KeyCache()
	require.NoError(t, err, "the key cache must build here")

	w, err := Start(t.Context(), Options{Name: "cached", Dir: t.TempDir(), Offline: true, LogDir: t.TempDir(), ExtraArgs: []string{"--log-level", "1"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Stop() })
	require.True(t, w.KeyCache, "the key cache is preloaded by default")
	for _, name := range []string{"a", "b", "c"} {
		rpcCall(t, w.URL, "create_wallet", `{"filename":"`+name+`","password":"p","language":"English"}`)
	}
	rpcCall(t, w.URL, "open_wallet", `{"filename":"a","password":"p"}`)
	addr := rpcCall(t, w.URL, "get_address", `{"account_index":0}`)
	assert.Contains(t, string(addr), `"address"`, "the wallet opened with a reused key works")
	assert.Equal(t, 4, certificates(t, w.LogPath), "wallet-rpc still asks for a key on each create and open")
	assert.Equal(t, map[string]int{"loaded": 1, "reused": 3}, keyLog(t, keys))

	// A second instance (a grown pool's, or a restart) takes the same handed key.
	require.NoError(t, os.Remove(keys))
	second, err := Start(t.Context(), Options{Name: "second", Dir: t.TempDir(), Offline: true, LogDir: t.TempDir(), ExtraArgs: []string{"--log-level", "1"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = second.Stop() })
	rpcCall(t, second.URL, "create_wallet", `{"filename":"a","password":"p","language":"English"}`)
	assert.Equal(t, map[string]int{"loaded": 1}, keyLog(t, keys), "a new instance searches no primes")

	require.NoError(t, os.Remove(keys))
	plain, err := Start(t.Context(), Options{Name: "plain", Dir: t.TempDir(), Offline: true, LogDir: t.TempDir(), NoKeyCache: true, ExtraArgs: []string{"--log-level", "1"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = plain.Stop() })
	assert.False(t, plain.KeyCache)
	rpcCall(t, plain.URL, "create_wallet", `{"filename":"a","password":"p","language":"English"}`)
	assert.Equal(t, 1, certificates(t, plain.LogPath))
	_, err = os.Stat(keys)
	assert.ErrorIs(t, err, os.ErrNotExist, "without the key cache OpenSSL makes the key itself")
}

func TestKeyCacheCanBeTurnedOffOrPointedAtALibrary(t *testing.T) {
	t.Setenv(EnvKeyCache, "off")
	p, err := KeyCache()
	require.NoError(t, err)
	assert.Empty(t, p)

	t.Setenv(EnvKeyCache, filepath.Join(t.TempDir(), "missing.so"))
	_, err = KeyCache()
	assert.ErrorContains(t, err, EnvKeyCache, "a broken override is an error, not a silent fallback")
}

func TestAMissingCompilerSaysHowToGetOne(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CC", "")
	_, err := compiler()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "apt-get install -y gcc")
	assert.Contains(t, err.Error(), EnvKeyCache+"=off")
}

// certificates counts wallet-rpc's own "Generating SSL certificate" lines (--log-level 1).
func certificates(t *testing.T, logPath string) int {
	t.Helper()
	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	return strings.Count(string(b), "Generating SSL certificate")
}

// keyLog counts the key cache's "loaded", "generated" and "reused" lines.
func keyLog(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	out := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		out[l]++
	}
	return out
}
