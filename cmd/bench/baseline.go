package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// baseline reproduces the predecessor's setup over the same monero-wallet-rpc binary, on a
// pool of its own (so its CPU is counted apart from the product's):
//
//   - one process-wide mutex around wallet creation (WALLET_CREATION_LOCK): an escrow
//     creates its three wallets while holding it;
//   - then a serial loop over the three wallets for make_multisig, with a hard sleep of the
//     purge delay after each call ("three hard 10-second sleeps");
//   - then the two exchange_multisig_keys rounds, serially over the three wallets;
//   - no wallet kept open: open_wallet before and close_wallet after every call.
//
// Two things are added, the minimum to make that design complete at all on v0.18:
//
//   - a mutex per wallet-rpc instance, held for one open → call → close session: a
//     wallet-rpc holds one wallet, so two escrows' calls on one instance must not
//     interleave (the predecessor's unlocked HashMap let them, and setups broke);
//   - prepare_multisig with enable_multisig_experimental again right before make_multisig,
//     in the same open-wallet session: v0.18 persists the flag only then (docs/design.md, "multisig
//     is experimental"), and a wallet closed in between would never finish.
//
// Role i of escrow j lives on instance (3j+i) mod K, as spread as the product's leases.
type baseline struct {
	rpcSet
	inst   []sync.Mutex
	create sync.Mutex
}

// startBaseline starts K fresh wallet-rpc processes under dir with opts (the flags the
// product's pool runs with, so that only the design differs).
func startBaseline(ctx context.Context, dir string, k int, opts devstack.WalletRPCOptions) (*baseline, error) {
	set, err := startRPCSet(ctx, "the baseline's", dir, k, opts)
	if err != nil {
		return nil, err
	}
	return &baseline{rpcSet: set, inst: make([]sync.Mutex, k)}, nil
}

// baselineWallet is one role's wallet of one escrow.
type baselineWallet struct {
	inst     int
	name, pw string
}

// baselineStats is where one baseline escrow's time went.
type baselineStats struct {
	opens      int
	createWait time.Duration // waiting for the creation mutex
	instWait   time.Duration // waiting for a wallet-rpc instance's mutex
	sleep      time.Duration
	calls      map[string]time.Duration // per wallet-rpc method, total call time
}

// escrow runs one setup the predecessor's way.
func (b *baseline) escrow(ctx context.Context, j int, id string, delay time.Duration) (baselineStats, error) {
	st := baselineStats{calls: map[string]time.Duration{}}
	var w [3]baselineWallet
	for i := range w {
		w[i] = baselineWallet{inst: (3*j + i) % len(b.rpcs), name: fmt.Sprintf("bl-%s-%d", id, i), pw: randomPassword()}
	}
	others := func(infos [3]string, i int) []string {
		out := make([]string, 0, 2)
		for o := range infos {
			if o != i {
				out = append(out, infos[o])
			}
		}
		return out
	}

	// Creation under the process-wide lock; create_wallet opens the new wallet.
	t := time.Now()
	b.create.Lock()
	st.createWait += time.Since(t)
	for i := range w {
		err := b.session(ctx, w[i], &st, false, func(c *walletrpc.Client) error {
			return timed(&st, walletrpc.MethodCreateWallet, func() error {
				return c.CreateWallet(ctx, walletrpc.CreateWalletRequest{Filename: w[i].name, Password: w[i].pw})
			})
		})
		if err != nil {
			b.create.Unlock()
			return st, fmt.Errorf("create_wallet %s: %w", w[i].name, err)
		}
	}
	b.create.Unlock()

	var prep, r1, r2 [3]string
	for i := range w {
		if err := b.session(ctx, w[i], &st, true, func(c *walletrpc.Client) error {
			return timed(&st, walletrpc.MethodPrepareMultisig, func() (err error) {
				var res walletrpc.PrepareMultisigResult
				res, err = c.PrepareMultisig(ctx, walletrpc.PrepareMultisigRequest{EnableMultisigExperimental: true})
				prep[i] = res.MultisigInfo
				return err
			})
		}); err != nil {
			return st, fmt.Errorf("prepare_multisig %s: %w", w[i].name, err)
		}
	}
	for i := range w {
		if err := b.session(ctx, w[i], &st, true, func(c *walletrpc.Client) error {
			if err := timed(&st, walletrpc.MethodPrepareMultisig, func() error {
				_, err := c.PrepareMultisig(ctx, walletrpc.PrepareMultisigRequest{EnableMultisigExperimental: true})
				return err
			}); err != nil {
				return err
			}
			return timed(&st, walletrpc.MethodMakeMultisig, func() error {
				res, err := c.MakeMultisig(ctx, walletrpc.MakeMultisigRequest{MultisigInfo: others(prep, i), Threshold: 2, Password: w[i].pw})
				r1[i] = res.MultisigInfo
				return err
			})
		}); err != nil {
			return st, fmt.Errorf("make_multisig %s: %w", w[i].name, err)
		}
		// The predecessor's hard sleep after every make_multisig.
		t := time.Now()
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(delay):
		}
		st.sleep += time.Since(t)
	}
	for round, in := range []*[3]string{&r1, &r2} {
		var out [3]string
		for i := range w {
			if err := b.session(ctx, w[i], &st, true, func(c *walletrpc.Client) error {
				return timed(&st, walletrpc.MethodExchangeMultisigKeys, func() error {
					res, err := c.ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysRequest{MultisigInfo: others(*in, i), Password: w[i].pw})
					out[i] = res.MultisigInfo
					return err
				})
			}); err != nil {
				return st, fmt.Errorf("exchange_multisig_keys round %d %s: %w", round+2, w[i].name, err)
			}
		}
		if round == 0 {
			r2 = out
		}
	}
	// Check the result as the product does: three finished 2-of-3 wallets, one address.
	var addr [3]string
	for i := range w {
		if err := b.session(ctx, w[i], &st, true, func(c *walletrpc.Client) error {
			return timed(&st, "is_multisig+get_address", func() (err error) {
				addr[i], err = finishedAddress(ctx, c)
				return err
			})
		}); err != nil {
			return st, fmt.Errorf("verify %s: %w", w[i].name, err)
		}
	}
	return st, sameAddress(addr)
}

// session is one call on a wallet the predecessor's way: take the instance, open the
// wallet (unless fn creates it), run fn, close the wallet, give the instance back.
func (b *baseline) session(ctx context.Context, w baselineWallet, st *baselineStats, open bool, fn func(*walletrpc.Client) error) error {
	t := time.Now()
	b.inst[w.inst].Lock()
	defer b.inst[w.inst].Unlock()
	st.instWait += time.Since(t)
	c := b.clients[w.inst]
	if open {
		st.opens++
		if err := timed(st, walletrpc.MethodOpenWallet, func() error {
			return c.OpenWallet(ctx, walletrpc.OpenWalletRequest{Filename: w.name, Password: w.pw})
		}); err != nil {
			return fmt.Errorf("open_wallet: %w", err)
		}
	}
	err := fn(c)
	if cerr := timed(st, walletrpc.MethodCloseWallet, func() error { return c.CloseWallet(ctx) }); err == nil && cerr != nil {
		err = fmt.Errorf("close_wallet: %w", cerr)
	}
	return err
}

func timed(st *baselineStats, method string, fn func() error) error {
	t := time.Now()
	err := fn()
	st.calls[method] += time.Since(t)
	return err
}

func randomPassword() string {
	var p [16]byte
	_, _ = rand.Read(p[:])
	return hex.EncodeToString(p[:])
}

// batch runs cfg.N baseline escrows as concurrent goroutines and measures.
func (b *baseline) batch(ctx context.Context, cfg Config, prefix string) (*Result, error) {
	done, err := runConcurrent(ctx, b.pids(), cfg.N, func(j int) (baselineStats, error) {
		return b.escrow(ctx, j, fmt.Sprintf("%s-%d", prefix, j+1), cfg.Delay)
	})
	if err != nil {
		return nil, err
	}
	res := newResult("baseline", cfg)
	res.Baseline = &BaselineBreakdown{CallSeconds: map[string]float64{}}
	var lat []float64
	opens := 0
	for j, r := range done.runs {
		opens += r.st.opens
		for m, d := range r.st.calls {
			res.Baseline.CallSeconds[m] += d.Seconds() / float64(cfg.N)
		}
		res.Baseline.CreateLockWaitS += r.st.createWait.Seconds() / float64(cfg.N)
		res.Baseline.InstanceLockWaitS += r.st.instWait.Seconds() / float64(cfg.N)
		res.Baseline.SleepS += r.st.sleep.Seconds() / float64(cfg.N)
		if r.err != nil {
			res.fail(fmt.Errorf("baseline escrow %d: %w", j+1, r.err))
			continue
		}
		lat = append(lat, r.latency.Seconds())
	}
	res.OpensPerEscrow = float64(opens) / float64(cfg.N)
	done.finish(res, lat, cfg.N)
	return res, nil
}
