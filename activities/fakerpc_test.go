package activities

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// fakeRPC is a scripted monero-wallet-rpc for the activities' unit tests: each method
// answers with a fixed result, a wallet-rpc error, or a handler's answer; methods with no
// script answer {}. It records the order of calls so tests can assert what was (never)
// called and in which order.
type fakeRPC struct {
	mu       sync.Mutex
	handlers map[string]func(params json.RawMessage) (any, error)
	calls    []string
}

// httpStatus makes the fake answer with a bare HTTP status, like a dead proxy would.
type httpStatus int

func (s httpStatus) Error() string { return fmt.Sprintf("HTTP %d", int(s)) }

// testWallet is a Wallet whose activities run in a Temporal test environment against a fakeRPC.
type testWallet struct {
	fake *fakeRPC
	w    *Wallet
	env  *testsuite.TestActivityEnvironment
}

func newTestWallet(t *testing.T) *testWallet {
	t.Helper()
	f := &fakeRPC{handlers: map[string]func(json.RawMessage) (any, error){}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	w, err := NewWallet(WalletConfig{
		Instance: "fake",
		RPC:      walletrpc.New(walletrpc.Config{URL: srv.URL, Timeout: 10 * time.Second}),
		Dir:      t.TempDir(),
		Secret:   bytes.Repeat([]byte{9}, MinSecretLength),
	})
	require.NoError(t, err)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(w)
	return &testWallet{fake: f, w: w, env: env}
}

// exec runs one activity and decodes its result into out (when it succeeds).
func (tw *testWallet) exec(fn, in, out any) error {
	v, err := tw.env.ExecuteActivity(fn, in)
	if err != nil {
		return err
	}
	return v.Get(out)
}

// answer scripts method to return result.
func (f *fakeRPC) answer(method string, result any) {
	f.handle(method, func(json.RawMessage) (any, error) { return result, nil })
}

// fail scripts method to fail with a wallet-rpc error.
func (f *fakeRPC) fail(method string, code int, message string) {
	f.handle(method, func(json.RawMessage) (any, error) {
		return nil, &walletrpc.RPCError{Code: code, Message: message}
	})
}

// handle scripts method with a function of its params.
func (f *fakeRPC) handle(method string, h func(params json.RawMessage) (any, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[method] = h
}

// called returns the methods called so far, in order.
func (f *fakeRPC) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// calledAfter reports whether later was called at some point after the first call of first.
func (f *fakeRPC) calledAfter(first, later string) bool {
	calls := f.called()
	i := slices.Index(calls, first)
	return i >= 0 && slices.Contains(calls[i+1:], later)
}

func (f *fakeRPC) serve(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if r.URL.Path != "/json_rpc" || json.NewDecoder(r.Body).Decode(&req) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, req.Method)
	h := f.handlers[req.Method]
	f.mu.Unlock()
	var result any = struct{}{}
	var err error
	if h != nil {
		result, err = h(req.Params)
	}
	var status httpStatus
	var rpcErr *walletrpc.RPCError
	switch {
	case errors.As(err, &status):
		http.Error(w, status.Error(), int(status))
		return
	case errors.As(err, &rpcErr):
		body, _ := json.Marshal(map[string]any{"code": rpcErr.Code, "message": rpcErr.Message})
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":%s}`, req.ID, body)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	body, err := json.Marshal(result)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, body)
}

// appError returns err's ApplicationError, failing the test when there is none.
func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "not an application error: %v", err)
	return appErr
}

// requireRetryable fails unless Temporal would retry err.
func requireRetryable(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		require.False(t, appErr.NonRetryable(), "want a retryable error, got %s: %v", appErr.Type(), err)
		require.NotEqual(t, ErrTypeWalletRejected, appErr.Type())
	}
}

// testEscrowID is a valid escrow ID for the fake's wallets.
const testEscrowID = "esc-1"
