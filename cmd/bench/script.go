package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// script is the direct script: what a setup costs with nothing around the wallet-rpc calls,
// the floor the product's engine is measured against. It calls K wallet-rpcs (started with
// the same options as the product's pool) over JSON-RPC:
//
//   - one wallet-rpc per role, the wallets kept open from create_wallet to the end (no
//     open_wallet, no close_wallet: create_wallet closes whatever was open before);
//   - create_wallet + prepare_multisig, then each round, in parallel across the three roles;
//   - the product's purge delay D between rounds (before rounds 2 and 3);
//   - escrow j on instances 3j, 3j+1, 3j+2 mod K, holding all three (a semaphore per
//     instance, taken in index order so two triples never deadlock) from create to verify,
//     as the product's lease holds them.
//
// It makes the product's wallet-rpc calls (prepare_multisig again right before make_multisig,
// is_multisig + get_address at the end) and nothing else: no label, no store, no snapshot,
// no backup, which is part of what the product's extra cost pays for.
type script struct {
	rpcSet
	sems []chan struct{}
}

// startScript starts K fresh wallet-rpcs under dir with opts.
func startScript(ctx context.Context, dir string, k int, opts devstack.WalletRPCOptions) (*script, error) {
	set, err := startRPCSet(ctx, "the script's", dir, k, opts)
	if err != nil {
		return nil, err
	}
	s := &script{rpcSet: set}
	for range set.rpcs {
		s.sems = append(s.sems, make(chan struct{}, 1))
	}
	return s, nil
}

// scriptSteps name the script's steps in order, as ours' stepGroups do.
var scriptSteps = []string{"create+prepare", "make_multisig", "exchange round 2", "exchange round 3", "verify"}

// scriptStats is where one script escrow's time went.
type scriptStats struct {
	instWait time.Duration
	sleep    time.Duration
	step     map[string]time.Duration // per step, the slowest of the three roles
}

// acquire takes the instances' semaphores in index order; release gives them back.
func (s *script) acquire(ctx context.Context, inst []int) (release func(), err error) {
	order := slices.Clone(inst)
	slices.Sort(order)
	var held []int
	release = func() {
		for _, i := range held {
			<-s.sems[i]
		}
	}
	for _, i := range order {
		select {
		case s.sems[i] <- struct{}{}:
			held = append(held, i)
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
}

// escrow runs one setup the direct way.
func (s *script) escrow(ctx context.Context, j int, id string, delay time.Duration) (scriptStats, error) {
	st, _, err := s.setup(ctx, j, id, delay)
	return st, err
}

// scriptWallets is a finished setup of the script: the instance of each role (buyer,
// vendor, arbiter, as scriptRoles names them), whose wallet stays open there, and the
// multisig address. The full-lifecycle mode funds and pays out from it.
type scriptWallets struct {
	inst    [3]int
	address string
}

// setup runs one setup the direct way and returns its wallets, still open.
func (s *script) setup(ctx context.Context, j int, id string, delay time.Duration) (scriptStats, scriptWallets, error) {
	st := scriptStats{step: map[string]time.Duration{}}
	var w scriptWallets
	k := len(s.rpcs)
	inst := []int{(3 * j) % k, (3*j + 1) % k, (3*j + 2) % k}
	t := time.Now()
	release, err := s.acquire(ctx, inst)
	st.instWait = time.Since(t)
	if err != nil {
		return st, w, err
	}
	defer release()
	var name, pw [3]string
	for r := range 3 {
		name[r], pw[r] = fmt.Sprintf("sc-%s-%d", id, r), randomPassword()
	}
	// parallel runs fn for the three roles at once and records the slowest.
	parallel := func(step string, fn func(r int, c *walletrpc.Client) error) error {
		t := time.Now()
		var errs [3]error
		var wg sync.WaitGroup
		for r := range 3 {
			wg.Go(func() { errs[r] = fn(r, s.clients[inst[r]]) })
		}
		wg.Wait()
		st.step[step] = time.Since(t)
		if err := errors.Join(errs[:]...); err != nil {
			return fmt.Errorf("%s: %w", step, err)
		}
		return nil
	}
	others := func(infos [3]string, r int) []string {
		out := make([]string, 0, 2)
		for o := range infos {
			if o != r {
				out = append(out, infos[o])
			}
		}
		return out
	}
	sleep := func() error {
		if delay == 0 {
			return nil
		}
		t := time.Now()
		defer func() { st.sleep += time.Since(t) }()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
			return nil
		}
	}

	var prep, r1, r2 [3]string
	if err := parallel(scriptSteps[0], func(r int, c *walletrpc.Client) error {
		if err := c.CreateWallet(ctx, walletrpc.CreateWalletRequest{Filename: name[r], Password: pw[r], Language: "English"}); err != nil {
			return err
		}
		res, err := c.PrepareMultisig(ctx, walletrpc.PrepareMultisigRequest{EnableMultisigExperimental: true})
		prep[r] = res.MultisigInfo
		return err
	}); err != nil {
		return st, w, err
	}
	if err := parallel(scriptSteps[1], func(r int, c *walletrpc.Client) error {
		if _, err := c.PrepareMultisig(ctx, walletrpc.PrepareMultisigRequest{EnableMultisigExperimental: true}); err != nil {
			return err
		}
		res, err := c.MakeMultisig(ctx, walletrpc.MakeMultisigRequest{MultisigInfo: others(prep, r), Threshold: 2, Password: pw[r]})
		r1[r] = res.MultisigInfo
		return err
	}); err != nil {
		return st, w, err
	}
	var addr [3]string
	for round, step := range []struct {
		in, out *[3]string
	}{{&r1, &r2}, {&r2, nil}} {
		if err := sleep(); err != nil {
			return st, w, err
		}
		if err := parallel(scriptSteps[2+round], func(r int, c *walletrpc.Client) error {
			res, err := c.ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysRequest{MultisigInfo: others(*step.in, r), Password: pw[r]})
			if step.out != nil {
				step.out[r] = res.MultisigInfo
			}
			return err
		}); err != nil {
			return st, w, err
		}
	}
	if err := parallel(scriptSteps[4], func(r int, c *walletrpc.Client) (err error) {
		addr[r], err = finishedAddress(ctx, c)
		return err
	}); err != nil {
		return st, w, err
	}
	w.inst, w.address = [3]int(inst), addr[0]
	return st, w, sameAddress(addr)
}

// batch runs cfg.N script escrows at once and measures.
func (s *script) batch(ctx context.Context, cfg Config, prefix string) (*Result, error) {
	done, err := runConcurrent(ctx, s.pids(), cfg.N, func(j int) (scriptStats, error) {
		return s.escrow(ctx, j, fmt.Sprintf("%s-%d", prefix, j+1), cfg.Delay)
	})
	if err != nil {
		return nil, err
	}
	res := newResult("script", cfg)
	res.Script = &ScriptBreakdown{StepS: map[string]float64{}}
	var lat []float64
	for j, r := range done.runs {
		if r.err != nil {
			res.fail(fmt.Errorf("script escrow %d: %w", j+1, r.err))
			continue
		}
		lat = append(lat, r.latency.Seconds())
		n := float64(cfg.N)
		res.Script.InstanceWaitS += r.st.instWait.Seconds() / n
		res.Script.SleepS += r.st.sleep.Seconds() / n
		for step, d := range r.st.step {
			res.Script.StepS[step] += d.Seconds() / n
		}
	}
	res.OpensPerEscrow = 0 // by construction: no open_wallet call is ever made
	done.finish(res, lat, cfg.N)
	return res, nil
}
