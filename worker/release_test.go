package worker

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	require.NoError(t, CheckReleases(t.Context(), []Instance{current, later, silent}, nil))

	old := Instance{Name: "rpc-old", URL: versionServer(t, 1, 25)}
	pinned := Instance{Name: "rpc-pinned", URL: versionServer(t, 1, 31)}
	err := CheckReleases(t.Context(), []Instance{current, old, pinned}, nil)
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "refusing 2 wallet-rpc instance(s)")
	assert.Contains(t, msg, "instance rpc-old at "+old.URL+": wallet-rpc interface 1.25 (v0.18.0.0–v0.18.1.1) is too old")
	assert.Contains(t, msg, "instance rpc-pinned at "+pinned.URL+": wallet-rpc interface 1.31 (v0.18.5.1) is too old")
	assert.Contains(t, msg, "needs interface 1.32 or later, Monero v0.18.5.3 or later")
	assert.Contains(t, msg, "make tools")
	assert.NotContains(t, msg, "rpc-a")
}
