package activities

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// fakeRPC is a scripted monero-wallet-rpc for the activities' unit tests: each method
// answers with a fixed result, a wallet-rpc error, or a handler's answer; methods with no
// script answer {}. It records the order of calls so tests can assert what was (never)
// called and in which order. Unless scripted, it also models which wallet is open and the
// wallets' attributes, so the label check sees what a real wallet-rpc would show: a wallet
// opened by name carries its own label (as every wallet CreateWallet made does) unless a
// test says otherwise with setLabel.
type fakeRPC struct {
	mu       sync.Mutex
	handlers map[string]func(params json.RawMessage) (any, error)
	calls    []string
	params   map[string][]json.RawMessage

	open   string                       // the open wallet's file name; "" when none
	labels map[string]map[string]string // wallet -> attribute key -> value
}

// setLabel sets wallet's attribute as another process (or an older version) left it;
// "" removes it.
func (f *fakeRPC) setLabel(wallet, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attrs(wallet)[WalletLabelKey] = value
	if value == "" {
		delete(f.labels[wallet], WalletLabelKey)
	}
}

// openBehindOurBack makes wallet the open one, as another process would.
func (f *fakeRPC) openBehindOurBack(wallet string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.open = wallet
}

// paramsOf returns the params of every call of method so far.
func (f *fakeRPC) paramsOf(method string) []json.RawMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.params[method])
}

// attrs returns wallet's attributes, made with its own label on first use; f.mu is held.
func (f *fakeRPC) attrs(wallet string) map[string]string {
	if f.labels == nil {
		f.labels = map[string]map[string]string{}
	}
	if f.labels[wallet] == nil {
		f.labels[wallet] = map[string]string{WalletLabelKey: wallet}
	}
	return f.labels[wallet]
}

// model answers the wallet-state calls no test scripted; f.mu is held. ok is false for
// every other method.
func (f *fakeRPC) model(method string, params json.RawMessage) (result any, ok bool, err error) {
	var p struct {
		Filename string `json:"filename"`
		Key      string `json:"key"`
		Value    string `json:"value"`
	}
	_ = json.Unmarshal(params, &p)
	notOpen := &walletrpc.RPCError{Code: walletrpc.CodeNotOpen, Message: "No wallet file"}
	switch method {
	case walletrpc.MethodOpenWallet, walletrpc.MethodCreateWallet:
		f.open = p.Filename
		if method == walletrpc.MethodCreateWallet {
			f.attrs(p.Filename)
			delete(f.labels[p.Filename], WalletLabelKey) // a new wallet has no attributes
		}
		return struct{}{}, true, nil
	case walletrpc.MethodCloseWallet:
		f.open = ""
		return struct{}{}, true, nil
	case walletrpc.MethodGetAttribute, walletrpc.MethodSetAttribute:
		if f.open == "" {
			return nil, true, notOpen
		}
		a := f.attrs(f.open)
		if method == walletrpc.MethodSetAttribute {
			a[p.Key] = p.Value
			return struct{}{}, true, nil
		}
		v, found := a[p.Key]
		if !found {
			return nil, true, &walletrpc.RPCError{Code: walletrpc.CodeAttributeNotFound, Message: "Attribute not found."}
		}
		return map[string]string{"value": v}, true, nil
	}
	return nil, false, nil
}

// httpStatus makes the fake answer with a bare HTTP status, like a dead proxy would.
type httpStatus int

func (s httpStatus) Error() string { return fmt.Sprintf("HTTP %d", int(s)) }

// testWallet is a Wallet whose activities run in a Temporal test environment against a fakeRPC.
type testWallet struct {
	// url is the fake's address: wallet-rpc and, for the calls a daemon answers, monerod.
	url      string
	fake     *fakeRPC
	w        *Wallet
	env      *testsuite.TestActivityEnvironment
	counters *Counters
	logs     *syncBuffer
}

// syncBuffer collects the activities' log lines; the SDK may log from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestWallet(t *testing.T) *testWallet {
	t.Helper()
	f := &fakeRPC{handlers: map[string]func(json.RawMessage) (any, error){}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	counters := &Counters{}
	w, err := NewWallet(WalletConfig{
		Instance: "fake",
		RPC:      walletrpc.New(walletrpc.Config{URL: srv.URL, Timeout: 10 * time.Second}),
		Dir:      t.TempDir(),
		Secret:   bytes.Repeat([]byte{9}, MinSecretLength),
		Counters: counters,
	})
	require.NoError(t, err)
	logs := &syncBuffer{}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(logs, nil))))
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(w)
	return &testWallet{url: srv.URL, fake: f, w: w, env: env, counters: counters, logs: logs}
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

// serveOther answers a plain (not JSON-RPC) endpoint scripted with handle(path, ...): the
// handler gets the request body and its result is the whole answer.
func (f *fakeRPC) serveOther(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	h := f.handlers[r.URL.Path]
	f.calls = append(f.calls, r.URL.Path)
	f.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	if h == nil || err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	result, err := h(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(result)
}

func (f *fakeRPC) serve(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if r.URL.Path != "/json_rpc" {
		f.serveOther(w, r) // monerod's plain endpoints, such as /get_transactions
		return
	}
	if json.NewDecoder(r.Body).Decode(&req) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, req.Method)
	if f.params == nil {
		f.params = map[string][]json.RawMessage{}
	}
	f.params[req.Method] = append(f.params[req.Method], req.Params)
	h := f.handlers[req.Method]
	var result any = struct{}{}
	var err error
	var modelled bool
	if h == nil {
		result, modelled, err = f.model(req.Method, req.Params)
		if !modelled {
			result = struct{}{}
		}
	}
	f.mu.Unlock()
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
		require.NotEqual(t, escrow.ErrTypeWalletRejected, appErr.Type())
	}
}

// testEscrowID is a valid escrow ID for the fake's wallets.
const testEscrowID = "esc-1"
