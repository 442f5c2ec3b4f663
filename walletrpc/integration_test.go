package walletrpc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmr-escrow/xmr-escrow/internal/walletproc"
	"github.com/xmr-escrow/xmr-escrow/internal/walletproc/proctest"
)

// These tests run the real monero-wallet-rpc: they are the team's proof of the protocol.
// They start it through internal/walletproc, the launcher the worker's supervisor uses.

const (
	// Generous: create_wallet/open_wallet take 1-9 s of wall time on 2 busy cores.
	callTimeout        = 2 * time.Minute
	testWalletPassword = "correct horse"
)

func TestIntegrationWalletLifecycle(t *testing.T) {
	p := startWalletRPC(t, "")
	ctx := testCtx(t)
	c := New(Config{URL: p.URL, Timeout: callTimeout})

	_, err := c.IsMultisig(ctx)
	if !IsNotOpen(err) || !IsRetryable(err) {
		t.Fatalf("no wallet open: want retryable IsNotOpen, got %v", err)
	}

	create := CreateWalletRequest{Filename: "alice", Password: testWalletPassword}
	if err := timed(t, "create_wallet", func() error { return c.CreateWallet(ctx, create) }); err != nil {
		t.Fatal(err)
	}
	addr, err := c.GetAddress(ctx, GetAddressRequest{AccountIndex: 0})
	if err != nil {
		t.Fatal(err)
	}
	checkAddress(t, addr.Address)
	if len(addr.Addresses) == 0 || addr.Addresses[0].Address != addr.Address {
		t.Fatalf("addresses[] %+v does not start with the primary address", addr.Addresses)
	}
	ms, err := c.IsMultisig(ctx)
	if err != nil || ms.Multisig || ms.Ready {
		t.Fatalf("fresh wallet is_multisig = %+v, %v", ms, err)
	}
	prep, err := c.PrepareMultisig(ctx, PrepareMultisigRequest{EnableMultisigExperimental: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(prep.MultisigInfo, "MultisigxV2") {
		t.Fatalf("prepare_multisig info has unexpected prefix %.12q", prep.MultisigInfo)
	}
	if err := c.Store(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWallet(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"alice", "alice.keys"} {
		if _, err := os.Stat(filepath.Join(p.Dir, f)); err != nil {
			t.Fatalf("wallet file missing after close: %v", err)
		}
	}

	_, err = c.GetAddress(ctx, GetAddressRequest{})
	if !IsNotOpen(err) {
		t.Fatalf("after close_wallet: want IsNotOpen, got %v", err)
	}

	err = c.CreateWallet(ctx, create)
	if !IsWalletExists(err) || IsRetryable(err) {
		t.Fatalf("create of existing wallet: want non-retryable IsWalletExists, got %v", err)
	}

	err = timed(t, "open_wallet (wrong password)", func() error {
		return c.OpenWallet(ctx, OpenWalletRequest{Filename: "alice", Password: "wrong"})
	})
	rpcErr := wantRPCCode(t, err, CodeUnknown, false)
	t.Logf("wrong password: code %d %q", rpcErr.Code, rpcErr.Message)
	if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), testWalletPassword) {
		t.Fatalf("error text leaks a password: %v", err)
	}

	if err := timed(t, "open_wallet", func() error {
		return c.OpenWallet(ctx, OpenWalletRequest{Filename: "alice", Password: testWalletPassword})
	}); err != nil {
		t.Fatal(err)
	}
	again, err := c.GetAddress(ctx, GetAddressRequest{})
	if err != nil || again.Address != addr.Address {
		t.Fatalf("reopened wallet address %q, %v; want %q", again.Address, err, addr.Address)
	}

	_, err = c.PrepareMultisig(ctx, PrepareMultisigRequest{})
	if err != nil {
		t.Fatalf("prepare_multisig without the flag on a plain wallet: %v", err)
	}
	err = c.Call(ctx, "no_such_method", nil, nil)
	wantRPCCode(t, err, codeMethodNotFound, false)
}

func TestIntegrationDigestAuth(t *testing.T) {
	p := startWalletRPC(t, "escrow:s3cret-pass")
	ctx := testCtx(t)

	good := New(Config{URL: p.URL, Username: "escrow", Password: "s3cret-pass", Timeout: callTimeout})
	for i := range 3 {
		v, err := good.GetVersion(ctx)
		if err != nil {
			t.Fatalf("call %d with right credentials: %v", i, err)
		}
		if v.Major() != 1 {
			t.Fatalf("unexpected RPC version %+v", v)
		}
	}
	if _, err := good.IsMultisig(ctx); !IsNotOpen(err) {
		t.Fatalf("authenticated call without wallet: want IsNotOpen, got %v", err)
	}

	for _, creds := range [][2]string{{"escrow", "wrong"}, {"intruder", "s3cret-pass"}} {
		bad := New(Config{URL: p.URL, Username: creds[0], Password: creds[1], Timeout: callTimeout})
		_, err := bad.GetVersion(ctx)
		var te *TransportError
		if !errors.As(err, &te) || te.StatusCode != 401 || !isUnauthorized(err) {
			t.Fatalf("wrong credentials %q: want 401 *TransportError, got %T %v", creds[0], err, err)
		}
		if IsRetryable(err) {
			t.Fatalf("wrong credentials must not be retryable: %v", err)
		}
	}
	bare := New(Config{URL: p.URL, Timeout: callTimeout})
	if _, err := bare.GetVersion(ctx); !isUnauthorized(err) {
		t.Fatalf("no credentials: want unauthorized, got %v", err)
	}

	// The rejected attempts made the server mint new nonces: the good client's cached one
	// is now stale and must be renewed transparently.
	for i := range 2 {
		if _, err := good.GetVersion(ctx); err != nil {
			t.Fatalf("call %d after nonce rotation: %v", i, err)
		}
	}

	if err := timed(t, "create_wallet (digest)", func() error {
		return good.CreateWallet(ctx, CreateWalletRequest{Filename: "authed", Password: testWalletPassword})
	}); err != nil {
		t.Fatal(err)
	}
	if addr, err := good.GetAddress(ctx, GetAddressRequest{}); err != nil {
		t.Fatal(err)
	} else {
		checkAddress(t, addr.Address)
	}
}

// onEach runs f for wallets 0..n-1 in parallel, as an escrow's three roles would.
func onEach[T any](n int, f func(i int) (T, error)) ([]T, error) {
	out := make([]T, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i], errs[i] = f(i) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return out, fmt.Errorf("wallet %d: %w", i, err)
		}
	}
	return out, nil
}

func others(all []string, i int) []string {
	var out []string
	for j, s := range all {
		if j != i {
			out = append(out, s)
		}
	}
	return out
}

// TestIntegrationMultisig2of3 is the multisig recipe (docs/design.md, "The multisig recipe") on
// three real processes.
func TestIntegrationMultisig2of3(t *testing.T) {
	proctest.SkipShort(t)
	ctx := testCtx(t)
	const n = 3

	procs, err := onEach(n, func(int) (*walletproc.WalletRPC, error) { return launchWalletRPC(t, "") })
	if err != nil {
		t.Fatal(err)
	}
	clients := make([]*Client, n)
	for i, p := range procs {
		clients[i] = New(Config{URL: p.URL, Timeout: callTimeout})
	}
	pw := testWalletPassword

	if err := timed(t, "create_wallet x3 (parallel)", func() error {
		_, err := onEach(n, func(i int) (struct{}, error) {
			return struct{}{}, clients[i].CreateWallet(ctx, CreateWalletRequest{Filename: fmt.Sprintf("escrow-role%d", i), Password: pw})
		})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	prepared, err := onEach(n, func(i int) (string, error) {
		r, err := clients[i].PrepareMultisig(ctx, PrepareMultisigRequest{EnableMultisigExperimental: true})
		return r.MultisigInfo, err
	})
	if err != nil {
		t.Fatal(err)
	}

	// Before round 1, a kex round is refused as "not multisig".
	_, err = clients[0].ExchangeMultisigKeys(ctx, ExchangeMultisigKeysRequest{MultisigInfo: others(prepared, 0), Password: pw})
	wantRPCCode(t, err, codeNotMultisig, false)

	var round1 []string
	if err := timed(t, "round 1 make_multisig x3", func() error {
		round1, err = onEach(n, func(i int) (string, error) {
			r, err := clients[i].MakeMultisig(ctx, MakeMultisigRequest{MultisigInfo: others(prepared, i), Threshold: 2, Password: pw})
			return r.MultisigInfo, err
		})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ms, err := clients[0].IsMultisig(ctx); err != nil || !ms.Multisig || ms.Ready || ms.Threshold != 2 || ms.Total != 3 {
		t.Fatalf("after round 1: is_multisig %+v, %v", ms, err)
	}

	// Mistakes a workflow could make; each is refused without harming the wallet.
	_, err = clients[0].MakeMultisig(ctx, MakeMultisigRequest{MultisigInfo: others(prepared, 0), Threshold: 2, Password: pw})
	wantRPCCode(t, err, codeAlreadyMultisig, false)
	_, err = clients[0].ExchangeMultisigKeys(ctx, ExchangeMultisigKeysRequest{MultisigInfo: others(prepared, 0), Password: pw})
	if e := wantRPCCode(t, err, CodeUnknown, false); !strings.Contains(e.Message, "expected kex round") {
		t.Fatalf("wrong round message %q", e.Message)
	}
	_, err = clients[0].ExchangeMultisigKeys(ctx, ExchangeMultisigKeysRequest{MultisigInfo: others(round1, 0)[:1], Password: pw})
	wantRPCCode(t, err, codeThresholdNotReached, false)

	var round2 []string
	if err := timed(t, "round 2 exchange_multisig_keys x3", func() error {
		round2, err = onEach(n, func(i int) (string, error) {
			r, err := clients[i].ExchangeMultisigKeys(ctx, ExchangeMultisigKeysRequest{MultisigInfo: others(round1, i), Password: pw})
			return r.MultisigInfo, err
		})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	var round3 []ExchangeMultisigKeysResult
	if err := timed(t, "round 3 exchange_multisig_keys x3", func() error {
		round3, err = onEach(n, func(i int) (ExchangeMultisigKeysResult, error) {
			return clients[i].ExchangeMultisigKeys(ctx, ExchangeMultisigKeysRequest{MultisigInfo: others(round2, i), Password: pw})
		})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	shared := round3[0].Address
	checkAddress(t, shared)
	for i, c := range clients {
		ms, err := c.IsMultisig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ms != (IsMultisigResult{Multisig: true, Ready: true, Threshold: 2, Total: 3}) {
			t.Fatalf("wallet %d is_multisig %+v", i, ms)
		}
		addr, err := c.GetAddress(ctx, GetAddressRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if round3[i].Address != shared || addr.Address != shared {
			t.Fatalf("wallet %d address %q / %q, want shared %q", i, round3[i].Address, addr.Address, shared)
		}
	}

	// A finished wallet refuses further rounds. 0.18.0.0 answered -28 (already multisig);
	// since 0.18.1.2 the kex code throws and wallet-rpc wraps it as -1: on 0.18.5.3
	// "Error calling exchange_multisig_info: multisig account: tried to update kex, but kex
	// is already complete." Either way a final refusal, never retried.
	_, err = clients[0].ExchangeMultisigKeys(ctx, ExchangeMultisigKeysRequest{MultisigInfo: others(round2, 0), Password: pw})
	if e := wantRPCCode(t, err, CodeUnknown, false); !strings.Contains(e.Message, "kex is already complete") {
		t.Fatalf("finished wallet's answer %q", e.Message)
	}

	// The wallet survives close/open with its own password, and the experimental flag
	// was persisted by make_multisig: export_multisig_info would fail with -48 otherwise.
	c := clients[2]
	if err := c.CloseWallet(ctx); err != nil {
		t.Fatal(err)
	}
	if err := timed(t, "open_wallet (multisig)", func() error {
		return c.OpenWallet(ctx, OpenWalletRequest{Filename: "escrow-role2", Password: pw})
	}); err != nil {
		t.Fatal(err)
	}
	if ms, err := c.IsMultisig(ctx); err != nil || !ms.Ready {
		t.Fatalf("reopened wallet is_multisig %+v, %v", ms, err)
	}
	var exported struct {
		Info string `json:"info"`
	}
	if err := c.Call(ctx, "export_multisig_info", nil, &exported); err != nil || exported.Info == "" {
		t.Fatalf("export_multisig_info after reopen: %v", err)
	}
}

// startWalletRPC starts an offline wallet-rpc for the test (see launchWalletRPC),
// skipping in -short mode and failing the test if it does not come up.
func startWalletRPC(t *testing.T, login string) *walletproc.WalletRPC {
	t.Helper()
	proctest.SkipShort(t)
	p, err := launchWalletRPC(t, login)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// launchWalletRPC starts an offline wallet-rpc in a wallet dir of its own and stops it
// (storing any open wallet) when the test ends. login is "user:pass" for digest auth or
// "" for --disable-rpc-login. It never calls t.FailNow, so goroutines may call it.
func launchWalletRPC(t *testing.T, login string) (*walletproc.WalletRPC, error) {
	dir := t.TempDir()
	opts := walletproc.Options{Name: "rpc", Dir: filepath.Join(dir, "wallets"), LogDir: dir, Offline: true}
	opts.Username, opts.Password, _ = strings.Cut(login, ":")
	p, err := walletproc.Start(t.Context(), opts)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Log(err)
		}
	})
	return p, nil
}

func timed(t *testing.T, what string, f func() error) error {
	t.Helper()
	start := time.Now()
	err := f()
	t.Logf("%s: %v (err=%v)", what, time.Since(start).Round(10*time.Millisecond), err)
	return err
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func wantRPCCode(t *testing.T, err error, code int, retryable bool) *RPCError {
	t.Helper()
	var rpcErr *RPCError
	if !errors.As(err, &rpcErr) {
		t.Fatalf("want *RPCError %d, got %T %v", code, err, err)
	}
	if rpcErr.Code != code {
		t.Fatalf("want code %d, got %d %q", code, rpcErr.Code, rpcErr.Message)
	}
	if IsRetryable(err) != retryable {
		t.Fatalf("IsRetryable(%v) = %v, want %v", err, !retryable, retryable)
	}
	return rpcErr
}

func checkAddress(t *testing.T, addr string) {
	t.Helper()
	if len(addr) != 95 || addr[0] != '4' {
		t.Fatalf("address %q: want 95 chars starting with '4' (mainnet)", addr)
	}
}
