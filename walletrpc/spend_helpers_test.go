package walletrpc_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// The spend test lives in walletrpc_test because it needs devstack's chain, and
// devstack imports walletrpc.

const (
	spendCallTimeout = 3 * time.Minute // wallet calls on a busy 2-core machine
	spendTestTimeout = 20 * time.Minute
	spendPassword    = "correct horse"
)

// signer is one multisig participant: its own wallet-rpc with one wallet open.
type signer struct {
	name string
	rpc  *walletrpc.Client
}

// stopwatch records how long each step took, for the report at the end.
type stopwatch struct {
	t     *testing.T
	mu    sync.Mutex
	steps []string
}

// step runs f, logs its duration and remembers it; f's error fails the test.
func (s *stopwatch) step(what string, f func() error) {
	s.t.Helper()
	start := time.Now()
	err := f()
	d := time.Since(start).Round(10 * time.Millisecond)
	s.mu.Lock()
	s.steps = append(s.steps, fmt.Sprintf("%-58s %8s", what, d))
	s.mu.Unlock()
	if err != nil {
		s.t.Fatalf("%s (after %s): %v", what, d, err)
	}
	s.t.Logf("%s: %s", what, d)
}

// report logs every step's duration in order.
func (s *stopwatch) report() {
	s.t.Logf("step timings:\n%s", strings.Join(s.steps, "\n"))
}

// requireMoneroBinaries fails (not skips) with the install command when a binary is
// missing: the spend recipe is only proven on the real thing.
func requireMoneroBinaries(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts monerod and monero-wallet-rpc; skipped in -short mode")
	}
	for _, find := range []func() (string, error){devstack.MonerodBinary, devstack.WalletRPCBinary} {
		if _, err := find(); err != nil {
			t.Fatalf("%v (or run `make test`, which installs it)", err)
		}
	}
}

// parallel runs f for 0..n-1 at once, as the escrow's roles would, and joins the errors.
func parallel[T any](n int, f func(i int) (T, error)) ([]T, error) {
	out := make([]T, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i], errs[i] = f(i) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return out, fmt.Errorf("#%d: %w", i, err)
		}
	}
	return out, nil
}

// othersOf drops element i: what participant i receives from the others.
func othersOf(all []string, i int) []string {
	var out []string
	for j, s := range all {
		if j != i {
			out = append(out, s)
		}
	}
	return out
}

// startWallets starts one wallet-rpc per name on the chain's daemon and creates a wallet
// named after it in each.
func startWallets(ctx context.Context, t *testing.T, chain *devstack.Chain, names ...string) ([]signer, error) {
	dir := t.TempDir()
	procs, err := parallel(len(names), func(i int) (*devstack.WalletRPC, error) {
		return devstack.StartWalletRPC(ctx, chain.WalletRPCOptions(names[i], filepath.Join(dir, names[i])))
	})
	for _, p := range procs {
		if p != nil {
			t.Cleanup(func() { _ = p.Stop() })
		}
	}
	if err != nil {
		return nil, err
	}
	ws := make([]signer, len(names))
	_, err = parallel(len(names), func(i int) (struct{}, error) {
		ws[i] = signer{name: names[i], rpc: walletrpc.New(walletrpc.Config{URL: procs[i].URL, Timeout: spendCallTimeout})}
		return struct{}{}, ws[i].rpc.CreateWallet(ctx, walletrpc.CreateWalletRequest{Filename: names[i], Password: spendPassword})
	})
	return ws, err
}

// makeMultisig runs the 2-of-3 setup exactly as TestIntegrationMultisig2of3 does and
// returns the shared address.
func makeMultisig(ctx context.Context, ws []signer) (string, error) {
	n := len(ws)
	prepared, err := parallel(n, func(i int) (string, error) {
		r, err := ws[i].rpc.PrepareMultisig(ctx, walletrpc.PrepareMultisigRequest{EnableMultisigExperimental: true})
		return r.MultisigInfo, err
	})
	if err != nil {
		return "", fmt.Errorf("prepare: %w", err)
	}
	msgs, err := parallel(n, func(i int) (string, error) {
		r, err := ws[i].rpc.MakeMultisig(ctx, walletrpc.MakeMultisigRequest{MultisigInfo: othersOf(prepared, i), Threshold: 2, Password: spendPassword})
		return r.MultisigInfo, err
	})
	if err != nil {
		return "", fmt.Errorf("make_multisig: %w", err)
	}
	var final []walletrpc.ExchangeMultisigKeysResult
	for round := 2; round <= 3; round++ {
		final, err = parallel(n, func(i int) (walletrpc.ExchangeMultisigKeysResult, error) {
			return ws[i].rpc.ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysRequest{MultisigInfo: othersOf(msgs, i), Password: spendPassword})
		})
		if err != nil {
			return "", fmt.Errorf("round %d: %w", round, err)
		}
		msgs = make([]string, n)
		for i, r := range final {
			msgs[i] = r.MultisigInfo
		}
	}
	for i, r := range final {
		if r.Address != final[0].Address || len(r.Address) != 95 {
			return "", fmt.Errorf("signer %d address %q differs from %q", i, r.Address, final[0].Address)
		}
	}
	return final[0].Address, nil
}

// syncMultisig is the pre-spend round: every signer refreshes and exports, then imports
// the other two exports. It returns each signer's NOutputs.
func syncMultisig(ctx context.Context, ws []signer) ([]int, error) {
	infos, err := parallel(len(ws), func(i int) (string, error) {
		if _, err := ws[i].rpc.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
			return "", err
		}
		r, err := ws[i].rpc.ExportMultisigInfo(ctx)
		return r.Info, err
	})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return parallel(len(ws), func(i int) (int, error) {
		r, err := ws[i].rpc.ImportMultisigInfo(ctx, walletrpc.ImportMultisigInfoRequest{Info: othersOf(infos, i)})
		return r.NOutputs, err
	})
}

// refreshAll refreshes every wallet so balances reflect the latest block.
func refreshAll(ctx context.Context, ws ...signer) error {
	_, err := parallel(len(ws), func(i int) (walletrpc.RefreshResult, error) {
		return ws[i].rpc.Refresh(ctx, walletrpc.RefreshRequest{})
	})
	return err
}

// mineUntilUnlocked mines one block at a time until w's unlocked balance reaches want
// and returns how many blocks that took.
func mineUntilUnlocked(ctx context.Context, chain *devstack.Chain, w signer, want uint64) (int, walletrpc.GetBalanceResult, error) {
	for n := 0; n <= 30; n++ {
		if _, err := w.rpc.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
			return n, walletrpc.GetBalanceResult{}, err
		}
		bal, err := w.rpc.GetBalance(ctx, walletrpc.GetBalanceRequest{})
		if err != nil || bal.UnlockedBalance >= want {
			return n, bal, err
		}
		if err := chain.Mine(ctx, 1); err != nil {
			return n, bal, err
		}
	}
	return 0, walletrpc.GetBalanceResult{}, errors.New("still locked after 30 blocks")
}

// wantCode fails unless err is an RPC error with code, and returns its message.
func wantCode(t *testing.T, what string, err error, code int, pred func(error) bool) string {
	t.Helper()
	var rpcErr *walletrpc.RPCError
	if !errors.As(err, &rpcErr) || rpcErr.Code != code {
		t.Fatalf("%s: want RPC error %d, got %v", what, code, err)
	}
	if pred != nil && !pred(err) {
		t.Fatalf("%s: predicate does not recognise %v", what, err)
	}
	t.Logf("observed %s -> %d %q", what, rpcErr.Code, rpcErr.Message)
	return rpcErr.Message
}
