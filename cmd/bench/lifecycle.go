package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// The full-lifecycle mode (-lifecycle) runs whole escrows on a regtest chain: order →
// Ready → paid → funded → decision → payout submitted → payout confirmed → completed or
// refunded, for ours and the script, one escrow at a time, with and without the key cache.
// The setup matrix measures what a setup costs; this mode measures what the rest of an
// escrow's life costs on top, where the product's engine (leases, funding checks, the
// payout's export/import rounds) has more room to spend than in a setup.

// Lifecycle phases, in order. Each is measured from the end of the one before.
const (
	// phaseSetup is the start call (or the script's first create_wallet) → Ready.
	phaseSetup = "setup"
	// phaseFunding is the payment → funded: the pay, 11 blocks mined, the wallets seeing the
	// money confirmed and unlocked.
	phaseFunding = "funding"
	// phasePayout is the decision → the payout confirmed (completed or refunded): export and
	// import, build, sign, submit, 11 blocks mined, the confirmations seen.
	phasePayout = "payout"
	// phaseAfter is a fixed window (-lifecycle-after) after completion: for ours the
	// late-money watch's start (its polls held off, LatePoll 1h, as the integration
	// benchmark does), for the script its wallets idling open, so that a cost the product
	// leaves running after the escrow is seen.
	phaseAfter = "after completion"
)

// lifePhases are the phases in the order the report lists them.
var lifePhases = []string{phaseSetup, phaseFunding, phasePayout, phaseAfter}

// Outcomes a lifecycle ends with (-lifecycle-kinds).
const (
	// kindRelease: the buyer confirms receipt; the vendor is paid.
	kindRelease = "release"
	// kindRefund: the vendor agrees to refund; the buyer is paid back.
	kindRefund = "refund"
)

// lifePrice is what each lifecycle escrow costs the buyer: 3 XMR, as in the integration tests.
const lifePrice = 3_000_000_000_000

// lifeConfirmations is how deep a payment is mined before it counts: 10 confirmations make
// it unlocked, and one more block is mined as the integration tests do (Mine 11).
const lifeConfirmations = 11

// payees are the vendor's and the buyer's payout addresses: fresh subaddresses of the
// chain's funder wallet, standing in for their own wallets.
type payees struct {
	vendor, buyer string
}

// newPayees makes two fresh subaddresses of the funder's wallet.
func newPayees(ctx context.Context, c *devstack.Chain) (payees, error) {
	var p payees
	for _, a := range []*string{&p.vendor, &p.buyer} {
		var res struct {
			Address string `json:"address"`
		}
		if err := c.FunderClient.Call(ctx, "create_address", map[string]int{"account_index": 0}, &res); err != nil {
			return p, fmt.Errorf("payee address: %w", err)
		}
		*a = res.Address
	}
	return p, nil
}

// lifeRun is one lifecycle's measurements.
type lifeRun struct {
	phases map[string]phaseSample
	// decisionToSubmitted is the decision (ours: the Decide call; the script: the first
	// export_multisig_info) → the payout submitted.
	decisionToSubmitted time.Duration
}

// phaseSample is one phase of one lifecycle.
type phaseSample struct {
	wall  time.Duration
	cpu   time.Duration // wallet-rpc CPU, summed over the system's wallet-rpcs
	opens int64         // open_wallet calls
}

// phaseMeter cuts a lifecycle into phases: wall time, the system's wallet-rpc CPU and its
// open_wallet calls from one lap to the next.
type phaseMeter struct {
	pids  func() []int
	opens func() int64
	t     time.Time
	cpu   time.Duration
	open  int64
	run   lifeRun
}

// newPhaseMeter starts the first phase now.
func newPhaseMeter(pids func() []int, opens func() int64) (*phaseMeter, error) {
	m := &phaseMeter{pids: pids, opens: opens, run: lifeRun{phases: map[string]phaseSample{}}}
	cpu, err := sumCPU(pids())
	if err != nil {
		return nil, fmt.Errorf("wallet-rpc CPU: %w", err)
	}
	m.t, m.cpu, m.open = time.Now(), cpu, opens()
	return m, nil
}

// lap ends the phase and starts the next one.
func (m *phaseMeter) lap(phase string) error {
	cpu, err := sumCPU(m.pids())
	if err != nil {
		return fmt.Errorf("wallet-rpc CPU after %s: %w", phase, err)
	}
	now, open := time.Now(), m.opens()
	m.run.phases[phase] = phaseSample{wall: now.Sub(m.t), cpu: cpu - m.cpu, opens: open - m.open}
	m.t, m.cpu, m.open = now, cpu, open
	return nil
}

// idle waits d (the after-completion window).
func idle(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// lifeSystem is one system's lifecycle on one key-cache variant.
type lifeSystem struct {
	name string
	run  func(ctx context.Context, id, kind string) (lifeRun, error)
	pids func() []int
	stop func()
}

// runLifecycles is the -lifecycle mode: a regtest chain of its own, then for each key-cache
// variant (on, off) ours and the script on pools of 3 wallet-rpcs each, escrows one after
// another, the systems taking turns, -repeat times per outcome.
func runLifecycles(ctx context.Context, o options, work string) (*LifeReport, error) {
	logf("lifecycle: starting a regtest chain (%d blocks)", devstack.SpendableBlocks)
	chain, err := devstack.StartChain(ctx, filepath.Join(work, "chain"), devstack.SpendableBlocks)
	if err != nil {
		return nil, fmt.Errorf("start the regtest chain: %w", err)
	}
	defer func() {
		if err := chain.Stop(); err != nil {
			logf("stop the chain: %v", err)
		}
	}()
	pay, err := newPayees(ctx, chain)
	if err != nil {
		return nil, err
	}
	lr := &LifeReport{Machine: machineInfo(), Args: os.Args[1:], Kinds: o.lifeKinds, Repeat: o.repeat, AfterS: o.lifeAfter.Seconds(), Notes: lifeNotes()}
	// The stack only needs the daemon from daemons; the chain (funder, mining) is ours here.
	dm := &daemons{monerod: chain.Daemon}
	for _, keycache := range []bool{true, false} {
		res, err := lifeVariant(ctx, o, filepath.Join(work, fmt.Sprintf("keycache-%t", keycache)), chain, dm, pay, keycache)
		lr.Results = append(lr.Results, res...)
		if err != nil {
			return lr, err
		}
	}
	return lr, nil
}

// lifeVariant measures every system's lifecycles on one key-cache variant.
func lifeVariant(ctx context.Context, o options, dir string, chain *devstack.Chain, dm *daemons, pay payees, keycache bool) ([]*LifeResult, error) {
	var systems []*lifeSystem
	defer func() {
		for _, s := range systems {
			s.stop()
		}
	}()
	if o.ours {
		logf("lifecycle, key cache %t: starting the local stack on the chain (3 wallet-rpc, no growth)", keycache)
		st, err := startOurs(ctx, mkdir(dir, "ours"), o.postgres, 3, oursOptions{variant: daemonUp, daemons: dm, noKeyCache: !keycache})
		if err != nil {
			return nil, err
		}
		systems = append(systems, &lifeSystem{name: "ours", pids: st.pids, stop: st.Stop,
			run: func(ctx context.Context, id, kind string) (lifeRun, error) {
				return st.lifecycle(ctx, chain, id, kind, pay, o.lifeAfter)
			}})
		if o.warmup {
			if _, err := batchWithTimeout(ctx, o, Config{N: 1, K: 3}, fmt.Sprintf("life-warmup-%t", keycache), st.batch); err != nil {
				return nil, fmt.Errorf("ours warm-up: %w", err)
			}
		}
	}
	if o.script {
		logf("lifecycle, key cache %t: starting the script's 3 wallet-rpc", keycache)
		sc, err := startScript(ctx, mkdir(dir, "script"), 3, dm.walletRPCOptions(daemonUp, keycache))
		if err != nil {
			return nil, err
		}
		systems = append(systems, &lifeSystem{name: "script", pids: sc.pids, stop: sc.Stop,
			run: func(ctx context.Context, id, kind string) (lifeRun, error) {
				return sc.lifecycle(ctx, chain, id, kind, pay, o.lifeAfter)
			}})
		if o.warmup {
			if _, err := sc.escrow(ctx, 0, fmt.Sprintf("life-warmup-%t", keycache), 0); err != nil {
				return nil, fmt.Errorf("script warm-up: %w", err)
			}
		}
	}
	meter := cpuMeter{mine: func() []int {
		pids := []int{os.Getpid(), chain.Daemon.Proc.Pid(), chain.Funder.Proc.Pid()}
		for _, s := range systems {
			pids = append(pids, s.pids()...)
		}
		return pids
	}}
	results := make([]*LifeResult, 0, len(systems)*len(o.lifeKinds))
	for _, kind := range o.lifeKinds {
		byName := map[string]*LifeResult{}
		for _, s := range systems {
			r := &LifeResult{System: s.name, KeyCache: keycache, Kind: kind}
			byName[s.name] = r
			results = append(results, r)
		}
		// The systems take turns (ours, script, ours, ...) so a drifting machine moves both alike.
		for i := range o.repeat {
			for _, s := range systems {
				if o.quietWait > 0 {
					if _, err := meter.waitQuiet(ctx, o.quietWait); err != nil {
						return results, err
					}
				}
				id := fmt.Sprintf("life-%s-kc%t-%s-%d", s.name, keycache, kind, i+1)
				before := meter.sample()
				rctx, cancel := context.WithTimeout(ctx, o.batchTimeout)
				run, err := s.run(rctx, id, kind)
				cancel()
				r := byName[s.name]
				if err != nil {
					if ctx.Err() != nil {
						return results, ctx.Err()
					}
					r.Errors = append(r.Errors, fmt.Sprintf("%s: %v", id, err))
					logf("lifecycle %s: FAILED: %v", id, err)
					continue
				}
				r.add(run, foreign(before, meter.sample()))
				logf("lifecycle %s: %s", id, run)
				if err := settle(ctx); err != nil {
					return results, err
				}
			}
		}
		for _, s := range systems {
			byName[s.name].finish()
		}
	}
	return results, nil
}

// String is one lifecycle as the progress lines show it.
func (r lifeRun) String() string {
	var s string
	for _, p := range lifePhases {
		ph := r.phases[p]
		s += fmt.Sprintf("%s %.1fs %.1f CPU-s %d opens; ", p, ph.wall.Seconds(), ph.cpu.Seconds(), ph.opens)
	}
	return s + fmt.Sprintf("decision → submitted %.1fs", r.decisionToSubmitted.Seconds())
}

// waitUnlocked refreshes the wallets until each has at least amount unlocked: the
// script's view of "funded" (10 confirmations), as the product's funding check sees it.
func waitUnlocked(ctx context.Context, clients []*walletrpc.Client, amount uint64) error {
	for {
		var short error
		for _, c := range clients {
			if _, err := c.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
				return fmt.Errorf("refresh: %w", err)
			}
			bal, err := c.GetBalance(ctx, walletrpc.GetBalanceRequest{})
			if err != nil {
				return fmt.Errorf("get_balance: %w", err)
			}
			if bal.UnlockedBalance < amount {
				short = fmt.Errorf("unlocked %d of %d", bal.UnlockedBalance, amount)
			}
		}
		if short == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), short)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// loadReport reads dir's latest.json, so that a lifecycle run adds its section to the
// setup results there rather than replacing them; a fresh report when there is none.
func loadReport(dir string) (*Report, error) {
	b, err := os.ReadFile(filepath.Join(dir, "latest.json"))
	if errors.Is(err, os.ErrNotExist) {
		return &Report{}, nil
	}
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "latest.json"), err)
	}
	return &rep, nil
}
