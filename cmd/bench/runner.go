package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"
)

// system is one line of the matrix (a series) on its own wallet-rpc pool.
type system struct {
	series string
	batch  func(context.Context, Config, string) (*Result, error)
	pids   func() []int
	stop   func()
	// repeat: its single-escrow batches are measured -repeat times (the summary's medians).
	repeat bool
}

// runK measures every N and D for every system on pools of K wallet-rpcs: one local stack
// per daemon variant, one pool for the script, one for the baseline. All run side by side
// and the systems take turns at each (D, N), so a drift of the machine hits them alike.
func runK(ctx context.Context, o options, rep *Report, dir string, k int, dm *daemons) error {
	var systems []*system
	defer func() {
		for _, s := range systems {
			s.stop()
		}
	}()
	if o.ours {
		for i, v := range o.daemons {
			logf("K=%d: starting the local stack, daemon %s (Temporal dev server, %d wallet-rpc, worker, PostgreSQL projection)", k, v, k)
			st, err := startOurs(ctx, mkdir(dir, "ours-"+v), o.postgres, k, oursOptions{variant: v, daemons: dm, fundingPoll: o.fundingPoll,
				grow: o.growMax, noKeyCache: !o.keycache})
			if err != nil {
				return err
			}
			ser := (&Result{System: "ours", Daemon: v}).Series()
			systems = append(systems, &system{series: ser, batch: st.batch, pids: st.pids, stop: st.Stop, repeat: i == 0})
		}
	}
	wopts := dm.walletRPCOptions(o.daemons[0], o.keycache)
	if o.script {
		logf("K=%d: starting the script's %d wallet-rpc", k, k)
		sc, err := startScript(ctx, mkdir(dir, "script"), k, wopts)
		if err != nil {
			return err
		}
		systems = append(systems, &system{series: "script", batch: sc.batch, pids: sc.pids, stop: sc.Stop, repeat: true})
	}
	if o.base {
		logf("K=%d: starting the baseline's %d wallet-rpc", k, k)
		// The predecessor ran stock wallet-rpc: the key cache is the product's (-baseline-keycache).
		base, err := startBaseline(ctx, mkdir(dir, "baseline"), k, dm.walletRPCOptions(o.daemons[0], o.baselineKeyCache))
		if err != nil {
			return err
		}
		// The baseline's single escrow is not repeated: no median of the summary needs it,
		// and at D=10s one takes over a minute.
		systems = append(systems, &system{series: "baseline", batch: base.batch, pids: base.pids, stop: base.Stop})
	}
	meter := cpuMeter{mine: func() []int {
		pids := append([]int{os.Getpid()}, dm.pids()...)
		for _, s := range systems {
			pids = append(pids, s.pids()...)
		}
		return pids
	}}
	if o.warmup {
		logf("K=%d: warm-up (one unmeasured setup each, D=0)", k)
		for _, s := range systems {
			if _, err := batchWithTimeout(ctx, o, Config{N: 1, K: k}, fmt.Sprintf("warmup-k%d", k), s.batch); err != nil {
				return fmt.Errorf("%s warm-up: %w", s.series, err)
			}
		}
	}
	for _, d := range o.delays {
		for _, n := range o.ns {
			cfg := Config{N: n, K: k, Delay: d}
			prefix := fmt.Sprintf("k%d-d%d-n%d", k, int(d.Seconds()), n)
			// Repeated single-escrow runs take turns across the systems (ours, script, ours,
			// ...), so a machine that drifts over minutes moves both medians alike.
			rounds := 1
			if n == 1 {
				rounds = max(o.repeat, 1)
			}
			runs := make([][]*Result, len(systems))
			for i := range rounds {
				for si, s := range systems {
					if i > 0 && !s.repeat {
						continue
					}
					p := prefix
					if i > 0 {
						p = fmt.Sprintf("%s-r%d", prefix, i+1)
					}
					res, err := measure(ctx, o, meter, cfg, p, s.batch)
					if err != nil {
						return fmt.Errorf("%s %s: %w", s.series, cfg, err)
					}
					runs[si] = append(runs[si], res)
					if err := settle(ctx); err != nil {
						return err
					}
				}
			}
			for si := range systems {
				res := combineRuns(runs[si])
				if res.Daemon == "" { // the script and the baseline: the flags they ran with
					res.Daemon = o.daemons[0]
				}
				progress(res)
				rep.Results = append(rep.Results, res)
				if err := rep.write(o.out); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// settle lets the wallet-rpcs store and the engine quiet down between batches.
func settle(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2 * time.Second):
		return nil
	}
}

// combineRuns keeps, of a batch measured several times, the run with the median wall time,
// with every run in Repeats and the medians of wall time and CPU, each taken on its own.
func combineRuns(runs []*Result) *Result {
	if len(runs) == 1 {
		return runs[0]
	}
	var walls, cpus []float64
	var samples []Sample
	var warnings []string
	for i, r := range runs {
		walls = append(walls, r.WallS)
		if r.WalletRPCCPUPerEsc > 0 {
			cpus = append(cpus, r.WalletRPCCPUPerEsc)
		}
		samples = append(samples, Sample{WallS: r.WallS, CPUPerEscS: r.WalletRPCCPUPerEsc, Opens: r.OpensPerEscrow})
		for _, w := range r.Warnings {
			warnings = append(warnings, fmt.Sprintf("run %d: %s", i+1, w))
		}
	}
	byWall := append([]*Result(nil), runs...)
	sort.SliceStable(byWall, func(i, j int) bool { return byWall[i].WallS < byWall[j].WallS })
	res := byWall[len(byWall)/2]
	res.Repeats, res.MedianWallS, res.MedianCPUPerEscS, res.Warnings = samples, median(walls), median(cpus), warnings
	return res
}

// contaminated is the share of the machine other processes may use during a batch before
// the batch is measured again.
const contaminated = 0.10

// measure runs one batch on a quiet machine: it waits until other processes are (nearly)
// idle, and measures again, up to twice, when they took more than 10 % of the cores during
// the batch (a test run starting next to the benchmark, say). The last attempt counts.
func measure(ctx context.Context, o options, meter cpuMeter, cfg Config, prefix string, batch func(context.Context, Config, string) (*Result, error)) (*Result, error) {
	for attempt := 1; ; attempt++ {
		var waited time.Duration
		var err error
		if o.quietWait > 0 {
			if waited, err = meter.waitQuiet(ctx, o.quietWait); err != nil {
				return nil, err
			}
		}
		p := prefix
		if attempt > 1 {
			p = fmt.Sprintf("%s-a%d", prefix, attempt)
		}
		before := meter.sample()
		res, err := batchWithTimeout(ctx, o, cfg, p, batch)
		if err != nil {
			return nil, err
		}
		res.QuietWaitS, res.ForeignCPUS = waited.Seconds(), foreign(before, meter.sample()).Seconds()
		share := res.ForeignCPUS / (float64(runtime.NumCPU()) * res.WallS)
		if share > contaminated/2 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("other processes used %.0f CPU-s during the batch (%.0f%% of the machine; attempt %d)",
				res.ForeignCPUS, 100*share, attempt))
		}
		if share <= contaminated || attempt == 3 || o.quietWait == 0 {
			return res, nil
		}
		logf("%-9s %-16s other processes used %.0f%% of the machine during the batch: measuring again", res.Series(), cfg, 100*share)
		if err := settle(ctx); err != nil {
			return nil, err
		}
	}
}

func batchWithTimeout(ctx context.Context, o options, cfg Config, prefix string, batch func(context.Context, Config, string) (*Result, error)) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.batchTimeout)
	defer cancel()
	return batch(ctx, cfg, prefix)
}

// summary prints the ratios, the targets and the summary block after the run.
func summary(rep *Report) {
	for _, c := range rep.Comparisons {
		logf("K=%d D=%s N=%-2d  ours/baseline: p50 latency %s, throughput %s; ours/script: p50 latency %s, throughput %s; ours at %.0f%% of the CPU bound",
			c.K, fmtDelay(delayOf(c.DelayS)), c.N, fx(c.LatencyP50Ratio), fx(c.ThroughputRatio), fx(c.ScriptP50Ratio), fx(c.ScriptThrRatio), c.OursPctOfCPUBound)
	}
	for _, t := range rep.Targets {
		logf("3 concurrent vs 1, %s K=%d D=%s: %.1fs vs %.1fs = %.2f× (target ≤ 1.3×: %t)",
			t.System, t.K, fmtDelay(delayOf(t.DelayS)), t.ThreeWallS, t.OneS, t.Ratio, t.Met)
	}
	if rep.Summary != nil {
		for _, l := range rep.Summary.lines(rep.Machine.NProc) {
			logf("%s", l)
		}
	}
}

func notes() []string {
	return []string{
		"ours: starter.Start for all N at once, starter.WaitReady each (the await-setup update: it answers in the workflow task that sets Ready). A ready escrow is not stopped: it goes on to the funding wait as in production (its wallet-rpc steps, RegisterWatch and CheckFunding, on the watching role's instance right away, then polls on the product's back-off; the local stack's block watcher follows the daemon), so the batch's later setups run next to earlier escrows' funding-wait steps, whose wallet-rpc CPU counts in the batch's. Every escrow of a batch is terminated once the batch is measured. Setup opens are each escrow's own (State.WalletOpens at Ready): a funding-wait step that takes a setup's instance shows there as the setup's reopen.",
		"ours-down: the same product with the daemon (the pool's --daemon-address and the block watcher's) a loopback port nobody listens on: every funding-wait step that needs the daemon fails at once and is retried on the product's policy, then the next poll tries again.",
		"script: the direct script (script.go): one wallet-rpc per role, wallets kept open, create+prepare and each round in parallel across the roles, the purge delay between rounds, escrow j on instances 3j..3j+2 mod K held for the whole setup. Only the product's wallet-rpc calls: no label, store, snapshot or backup.",
		"baseline: the predecessor's design (process-wide creation mutex, serial make_multisig loop with a hard sleep of D after each call, serial exchange rounds, open_wallet/close_wallet around every call) plus the minimum to complete on v0.18: one mutex per wallet-rpc instance (it holds one wallet) and prepare_multisig with enable_multisig_experimental right before make_multisig in the same session; it also checks is_multisig/get_address at the end, as ours does.",
		"all: every system's wallet-rpcs start with the same flags (the first daemon variant's --daemon-address, trusted, --daemon-ssl disabled, no RPC login, the key cache per -keycache); role i of escrow j on instance (3j+i) mod K for the script and the baseline, leased idle instances for ours; one warm-up setup per system and K is not measured; single-escrow batches of ours (first variant) and the script run -repeat times, taking turns, and the summary takes medians; before each batch the benchmark waits until other processes use < 0.15 cores, and it records the CPU they used during the batch (foreign_cpu_s).",
	}
}

// timedRun is one escrow of a direct batch (script or baseline): its latency, the system's
// own breakdown, and how it ended.
type timedRun[S any] struct {
	latency time.Duration
	st      S
	err     error
}

// directBatch is what runConcurrent measured: each escrow's run, the batch's wall time (first
// start to last end), and the wallet-rpc CPU time the pids used meanwhile (cpuErr if one vanished).
type directBatch[S any] struct {
	runs   []timedRun[S]
	wall   time.Duration
	cpu    time.Duration
	cpuErr error
}

// runConcurrent starts escrow(j) for j < n as goroutines at once, times each, and reads the
// CPU of the system's wallet-rpcs (pids) around the batch.
func runConcurrent[S any](ctx context.Context, pids []int, n int, escrow func(j int) (S, error)) (*directBatch[S], error) {
	cpu0, err := sumCPU(pids)
	if err != nil {
		return nil, fmt.Errorf("wallet-rpc CPU: %w", err)
	}
	b := &directBatch[S]{runs: make([]timedRun[S], n)}
	first := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	last := first
	for j := range n {
		wg.Go(func() {
			t0 := time.Now()
			st, err := escrow(j)
			t1 := time.Now()
			mu.Lock()
			last = maxTime(last, t1)
			mu.Unlock()
			b.runs[j] = timedRun[S]{latency: t1.Sub(t0), st: st, err: err}
		})
	}
	wg.Wait()
	b.wall = last.Sub(first)
	cpu1, cpuErr := sumCPU(pids)
	b.cpu, b.cpuErr = cpu1-cpu0, cpuErr
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return b, nil
}

// finish sets the result's wall time, latencies and CPU from the batch.
func (b *directBatch[S]) finish(res *Result, lat []float64, n int) {
	res.WallS = b.wall.Seconds()
	res.setLatencies(lat)
	if b.cpuErr != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("a wallet-rpc vanished during the batch (%v): CPU not measured", b.cpuErr))
	} else {
		res.setCPU(b.cpu, n)
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
