package worker

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// versionServer is a wallet-rpc that answers get_version with major.minor.
func versionServer(t *testing.T, major, minor uint32) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		_, _ = fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"release":false,"version":%d}}`, req.ID, major<<16|minor)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestTheWorkerRefusesAWalletRPCOlderThanTheTestedRelease: at start the worker asks every
// instance its version and refuses those older than 0.18.5.3's interface, naming each; an
// instance that does not answer is left to the supervisor and the step retries.
func TestTheWorkerRefusesAWalletRPCOlderThanTheTestedRelease(t *testing.T) {
	current := Instance{Name: "rpc-a", URL: versionServer(t, 1, 32)}
	later := Instance{Name: "rpc-b", URL: versionServer(t, 1, 33)}
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	silent := Instance{Name: "rpc-c", URL: down.URL}
	require.NoError(t, CheckMoneroVersions(t.Context(), []Instance{current, later, silent}, nil, nil))

	old := Instance{Name: "rpc-old", URL: versionServer(t, 1, 25)}
	pinned := Instance{Name: "rpc-pinned", URL: versionServer(t, 1, 31)}
	err := CheckMoneroVersions(t.Context(), []Instance{current, old, pinned}, nil, nil)
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "refusing 2 wallet-rpc instance(s)")
	assert.Contains(t, msg, "instance rpc-old at "+old.URL+": wallet-rpc interface 1.25 (v0.18.0.0–v0.18.1.1) is too old")
	assert.Contains(t, msg, "instance rpc-pinned at "+pinned.URL+": wallet-rpc interface 1.31 (v0.18.5.1) is too old")
	assert.Contains(t, msg, "needs interface 1.32 or later, Monero v0.18.5.3 or later")
	assert.Contains(t, msg, "make tools")
	assert.NotContains(t, msg, "rpc-a")
}

// TestTheStartUpLogSaysEachInstancesReleaseAndKeyCache: one line per instance, with the
// Monero releases its interface version can be and whether the key cache applies: known for
// the instances this worker started, "unknown" for the ones it was given.
func TestTheStartUpLogSaysEachInstancesReleaseAndKeyCache(t *testing.T) {
	spawned := Instance{Name: "w-spawned", URL: versionServer(t, 1, 32)}
	plain := Instance{Name: "w-plain", URL: versionServer(t, 1, 32)}
	given := Instance{Name: "rpc-given", URL: versionServer(t, 1, 32)}
	old := Instance{Name: "rpc-old", URL: versionServer(t, 1, 31)}
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	silent := Instance{Name: "rpc-silent", URL: down.URL}
	keyCache := func(name string) (bool, bool) {
		switch name {
		case spawned.Name:
			return true, true
		case plain.Name:
			return false, true
		}
		return false, false
	}
	core, logs := observer.New(zap.DebugLevel)
	err := CheckMoneroVersions(t.Context(), []Instance{spawned, plain, given, old, silent}, keyCache, zap.New(core))
	require.ErrorContains(t, err, "refusing 1 wallet-rpc instance(s)")

	type line struct{ monero, keyCache string }
	got := map[string]line{}
	for _, e := range logs.All() {
		f := e.ContextMap()
		name, _ := f["instance"].(string)
		_, dup := got[name]
		assert.False(t, dup, "two start-up lines for %s", name)
		m, _ := f["monero"].(string)
		k, _ := f["key_cache"].(string)
		got[name] = line{m, k}
	}
	assert.Equal(t, map[string]line{
		"w-spawned":  {"v0.18.5.3", "applies: preloaded by this worker"},
		"w-plain":    {"v0.18.5.3", "does not apply: this worker started it without (XMR_ESCROW_KEYCACHE=off, or a wallet-rpc that links OpenSSL statically)"},
		"rpc-given":  {"v0.18.5.3", "unknown: not started by this worker"},
		"rpc-old":    {"v0.18.5.1", "unknown: not started by this worker"},
		"rpc-silent": {"unknown: get_version failed", "unknown: not started by this worker"},
	}, got)
}
