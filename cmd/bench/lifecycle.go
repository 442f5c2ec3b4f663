package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
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

// lifeRun is one lifecycle batch's measurements (one escrow, or N at once phase by phase).
type lifeRun struct {
	phases map[string]phaseSample
	// decisionToSubmitted is the decision (ours: the Decide calls; the script: the first
	// export_multisig_info) → the last payout of the batch submitted.
	decisionToSubmitted time.Duration
	// traces are each escrow's payout, step by step (ours: from its workflow history).
	traces []payoutTrace
	// calls are ours' wallet-rpc calls from the decisions to the payouts submitted, per escrow.
	calls rpcCalls
	// minedToFunded is the payments' last confirmation mined → the batch seen funded (the
	// funding phase less the pay and the mining, which both systems share).
	minedToFunded time.Duration
	// fundings are ours' escrows' funding, from their workflow histories.
	fundings []fundingTrace
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

// finish ends the payout phase once the escrows are settled, then measures the window after
// completion (after long), and returns the run.
func (m *phaseMeter) finish(ctx context.Context, after time.Duration) (lifeRun, error) {
	if err := m.lap(phasePayout); err != nil {
		return lifeRun{}, err
	}
	if err := idle(ctx, after); err != nil {
		return lifeRun{}, err
	}
	if err := m.lap(phaseAfter); err != nil {
		return lifeRun{}, err
	}
	return m.run, nil
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

// lifePoll is how often both systems look for what they wait for in a lifecycle: the script's
// wallets, ours' block watcher and escrow polls, and the benchmark asking ours' escrow state.
// One period for both, so that neither wins a phase by looking more often.
const lifePoll = 200 * time.Millisecond

// pollUntil calls check every lifePoll until it reports nothing short (nil), fails, or ctx ends.
func pollUntil(ctx context.Context, check func() (short, err error)) error {
	for {
		short, err := check()
		if err != nil || short == nil {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), short)
		case <-time.After(lifePoll):
		}
	}
}

// lifeSystem is one system's lifecycle on one key-cache variant.
type lifeSystem struct {
	name string
	// run runs len(ids) lifecycles at once, the i-th ending as kinds[i].
	run  func(ctx context.Context, ids, kinds []string) (lifeRun, error)
	pids func() []int
	stop func()
}

// runLifecycles is the -lifecycle mode: a regtest chain of its own, then for each key-cache
// variant (on, off) ours and the script on pools of 3 wallet-rpcs each, escrows one after
// another, the systems taking turns, -repeat times per outcome.
func runLifecycles(ctx context.Context, o options, work string) (*LifeReport, error) {
	chain, pay, stop, err := startBenchChain(ctx, "lifecycle", work)
	if err != nil {
		return nil, err
	}
	defer stop()
	lr := &LifeReport{Date: time.Now().UTC().Format(time.RFC3339), Machine: machineInfo(), Args: os.Args[1:], Kinds: o.lifeKinds, Repeat: o.repeat, AfterS: o.lifeAfter.Seconds(), Notes: lifeNotes()}
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

// lifeBatch is one kind of lifecycle batch: N escrows at once, the outcome of each, and
// the label the report files it under (the outcome, or "mix" for several).
type lifeBatch struct {
	n     int
	kinds []string
	label string
}

// lifeBatches are the batches -lifecycle-n and -lifecycle-kinds ask for: at N=1 one per
// outcome; at N>1 one whose escrows take the outcomes in turn.
func lifeBatches(o options) []lifeBatch {
	var out []lifeBatch
	for _, n := range o.lifeNs {
		if n == 1 {
			for _, k := range o.lifeKinds {
				out = append(out, lifeBatch{n: 1, kinds: []string{k}, label: k})
			}
			continue
		}
		b := lifeBatch{n: n, label: o.lifeKinds[0]}
		if len(o.lifeKinds) > 1 {
			b.label = "mix"
		}
		for i := range n {
			b.kinds = append(b.kinds, o.lifeKinds[i%len(o.lifeKinds)])
		}
		out = append(out, b)
	}
	return out
}

// lifeVariant measures every system's lifecycles on one key-cache variant, each system on
// 3 wallet-rpcs per escrow in flight (the script keeps every wallet open on an instance of
// its own; ours gets as many, without growth, so that it could too).
func lifeVariant(ctx context.Context, o options, dir string, chain *devstack.Chain, dm *daemons, pay payees, keycache bool) ([]*LifeResult, error) {
	var systems []*lifeSystem
	defer func() {
		for _, s := range systems {
			s.stop()
		}
	}()
	k := 3 * slices.Max(o.lifeNs)
	if o.ours {
		logf("lifecycle, key cache %t: starting the local stack on the chain (%d wallet-rpc, no growth)", keycache, k)
		st, err := startOurs(ctx, mkdir(dir, "ours"), o.postgres, k, oursOptions{variant: daemonUp, daemons: dm, noKeyCache: !keycache, watcherPoll: lifePoll})
		if err != nil {
			return nil, err
		}
		systems = append(systems, &lifeSystem{name: "ours", pids: st.pids, stop: st.Stop,
			run: func(ctx context.Context, ids, kinds []string) (lifeRun, error) {
				return st.lifecycle(ctx, chain, ids, kinds, pay, o.lifeAfter)
			}})
		if o.warmup {
			if _, err := batchWithTimeout(ctx, o, Config{N: 1, K: k}, fmt.Sprintf("life-warmup-%t", keycache), st.batch); err != nil {
				return nil, fmt.Errorf("ours warm-up: %w", err)
			}
		}
	}
	if o.script {
		logf("lifecycle, key cache %t: starting the script's %d wallet-rpc", keycache, k)
		sc, err := startScript(ctx, mkdir(dir, "script"), k, dm.walletRPCOptions(daemonUp, keycache))
		if err != nil {
			return nil, err
		}
		systems = append(systems, &lifeSystem{name: "script", pids: sc.pids, stop: sc.Stop,
			run: func(ctx context.Context, ids, kinds []string) (lifeRun, error) {
				return sc.lifecycle(ctx, chain, ids, kinds, pay, o.lifeAfter)
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
	var results []*LifeResult
	for _, b := range lifeBatches(o) {
		byName := map[string]*LifeResult{}
		for _, s := range systems {
			r := &LifeResult{System: s.name, KeyCache: keycache, Kind: b.label, N: b.n}
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
				prefix := fmt.Sprintf("life-%s-kc%t-%s-n%d-%d", s.name, keycache, b.label, b.n, i+1)
				var ids []string
				for j := range b.n {
					ids = append(ids, fmt.Sprintf("%s-%d", prefix, j+1))
				}
				before := meter.sample()
				rctx, cancel := context.WithTimeout(ctx, o.batchTimeout)
				run, err := s.run(rctx, ids, b.kinds)
				cancel()
				r := byName[s.name]
				if err != nil {
					if ctx.Err() != nil {
						return results, ctx.Err()
					}
					r.Errors = append(r.Errors, fmt.Sprintf("%s: %v", prefix, err))
					logf("lifecycle %s: FAILED: %v", prefix, err)
					continue
				}
				r.add(run, foreign(before, meter.sample()))
				logf("lifecycle %s: %s", prefix, run)
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

// eachOf runs fn for every id at once and waits for all; the errors name their escrow.
func eachOf(ids []string, fn func(i int, id string) error) error {
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			if err := fn(i, id); err != nil {
				errs[i] = fmt.Errorf("%s: %w", id, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// wrap is err with what failed in front, or nil.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// payAndMine pays lifePrice to each address from the funder, one after another (one wallet
// sends them), and mines the blocks that make them spendable.
func payAndMine(ctx context.Context, chain *devstack.Chain, addrs []string) error {
	for _, a := range addrs {
		if _, err := chain.Pay(ctx, a, lifePrice); err != nil {
			return fmt.Errorf("pay the escrow: %w", err)
		}
	}
	return chain.Mine(ctx, lifeConfirmations)
}

// String is one lifecycle as the progress lines show it.
func (r lifeRun) String() string {
	var s string
	for _, p := range lifePhases {
		ph := r.phases[p]
		s += fmt.Sprintf("%s %.1fs %.1f CPU-s %d opens; ", p, ph.wall.Seconds(), ph.cpu.Seconds(), ph.opens)
	}
	return s + fmt.Sprintf("mined → funded %.2fs; decision → submitted %.1fs", r.minedToFunded.Seconds(), r.decisionToSubmitted.Seconds())
}
