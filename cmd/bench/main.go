// Command bench measures escrow setups: N concurrent 2-of-3 multisig setups over K
// monero-wallet-rpc instances, with the purge delay D, on the real Temporal dev server and
// real wallet-rpc processes (--offline). It runs the product (the local stack: dev server,
// supervised wallet-rpc pool, worker, PostgreSQL projection) and, in the same run on a
// wallet-rpc pool of its own, a baseline that reproduces the predecessor's design (see
// baseline.go). It prints one line per configuration and writes bench/results/latest.json,
// latest.md and latest.png (bench/results at the repository's root, wherever it is run from).
//
// It is a Go module of its own (cmd/bench/go.mod, with a replace directive onto the product
// in ../..), so that its plotting dependencies stay out of the product's module and
// `make build` does not build it. Run it from the repository's root with make:
//
//	make bench                                          # N=1,3,6,12 × K=3,6 × D=10s,0s
//	make bench BENCH_ARGS="-n 1,3 -k 3 -delays 0s"      # a quick run
//
// or from this directory with go run . [flags].
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// defaultPostgres is the server the tests use too: $XMR_ESCROW_TEST_POSTGRES, or the
// machine's own PostgreSQL with trust auth.
func defaultPostgres() string {
	if dsn := strings.TrimSpace(os.Getenv("XMR_ESCROW_TEST_POSTGRES")); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// productModule is the module the benchmark measures; its go.mod marks the repository's root.
const productModule = "github.com/xmr-escrow/xmr-escrow"

// defaultOut is bench/results at the repository's root: the nearest directory at or above the
// working directory whose go.mod declares productModule (so the results land in the same place
// whether the benchmark runs from the root, as make bench runs it, or from cmd/bench with
// go run .). Outside the repository it is bench/results under the working directory.
func defaultOut() string {
	out := filepath.Join("bench", "results")
	wd, err := os.Getwd()
	if err != nil {
		return out
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(b) == productModule {
			if rel, err := filepath.Rel(wd, filepath.Join(dir, out)); err == nil {
				return rel
			}
			return filepath.Join(dir, out)
		}
		if filepath.Dir(dir) == dir {
			return out
		}
	}
}

// modulePath is the path in a go.mod's module directive, or "".
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

func main() {
	if err := run(); err != nil {
		logf("bench: %v", err)
		os.Exit(1)
	}
}

type options struct {
	ns, ks       []int
	delays       []time.Duration
	out          string
	postgres     string
	ours, base   bool
	warmup, keep bool
	batchTimeout time.Duration
	quietWait    time.Duration
	reportOnly   bool
}

func parseFlags() (options, error) {
	var o options
	n := flag.String("n", "1,3,6,12", "numbers of concurrent setups per batch")
	k := flag.String("k", "3,6", "wallet-rpc pool sizes")
	d := flag.String("delays", "10s,0s", "purge delays")
	systems := flag.String("systems", "ours,baseline", "what to run: ours, baseline or both")
	flag.StringVar(&o.out, "out", defaultOut(), "where latest.json, latest.md and latest.png go")
	flag.StringVar(&o.postgres, "postgres", defaultPostgres(), "PostgreSQL server the benchmark creates (and drops) its projection databases on")
	flag.BoolVar(&o.warmup, "warmup", true, "run one unmeasured setup per system and K first")
	flag.BoolVar(&o.keep, "keep", false, "keep the work dir (wallets, logs, Temporal database)")
	flag.DurationVar(&o.batchTimeout, "batch-timeout", 30*time.Minute, "give up on a batch after this long")
	flag.BoolVar(&o.reportOnly, "report-only", false, "measure nothing: rewrite latest.md and latest.png from -out's latest.json")
	flag.DurationVar(&o.quietWait, "quiet-wait", 30*time.Minute, "before each batch, wait up to this long until other processes use < 0.15 cores (0: don't wait)")
	flag.Parse()
	var err error
	if o.ns, err = ints(*n); err != nil {
		return o, fmt.Errorf("-n: %w", err)
	}
	if o.ks, err = ints(*k); err != nil {
		return o, fmt.Errorf("-k: %w", err)
	}
	for _, s := range strings.Split(*d, ",") {
		v, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || v < 0 {
			return o, fmt.Errorf("-delays: %q is not a duration", s)
		}
		o.delays = append(o.delays, v)
	}
	for _, s := range strings.Split(*systems, ",") {
		switch strings.TrimSpace(s) {
		case "ours":
			o.ours = true
		case "baseline":
			o.base = true
		default:
			return o, fmt.Errorf("-systems: unknown %q", s)
		}
	}
	for _, k := range o.ks {
		if k < 3 {
			return o, errors.New("-k: a setup needs at least 3 wallet-rpcs")
		}
	}
	return o, nil
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func run() error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	if o.reportOnly {
		return rewrite(o.out)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once; the children die with us (Pdeathsig)
		logf("interrupted: stopping every process (Ctrl-C again to kill)")
	}()

	work, err := os.MkdirTemp("", "xmr-escrow-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("work dir %s (kept)", work)
	} else {
		defer func() { _ = os.RemoveAll(work) }()
	}
	rep := &Report{Machine: machineInfo(), Args: os.Args[1:], Ns: o.ns, Ks: o.ks, Notes: notes()}
	for _, d := range o.delays {
		rep.DelaysS = append(rep.DelaysS, d.Seconds())
	}
	m := rep.Machine
	logf("machine: %d cores (%s), %s, %s, %s", m.NProc, m.CPUModel, m.MemTotal, m.GoVersion, m.WalletRPC)
	logf("matrix: N=%v K=%v D=%v; ours=%t baseline=%t; results into %s", o.ns, o.ks, o.delays, o.ours, o.base, o.out)
	began := time.Now()
	for _, k := range o.ks {
		if err := runK(ctx, o, rep, filepath.Join(work, fmt.Sprintf("k%d", k)), k); err != nil {
			if ctx.Err() != nil {
				return errors.New("interrupted; every process stopped, partial results left in " + o.out)
			}
			return err
		}
	}
	rep.TotalS = time.Since(began).Seconds()
	if err := rep.write(o.out); err != nil {
		return err
	}
	summary(rep)
	logf("done in %s: %s", time.Since(began).Round(time.Second), filepath.Join(o.out, "latest.{json,md,png}"))
	return nil
}

// runK measures every N and D on one local stack and one baseline pool of K wallet-rpcs.
func runK(ctx context.Context, o options, rep *Report, dir string, k int) error {
	var stack *ours
	var base *baseline
	var err error
	if o.ours {
		logf("K=%d: starting the local stack (Temporal dev server, %d wallet-rpc, worker, PostgreSQL projection)", k, k)
		if stack, err = startOurs(ctx, mkdir(dir, "ours"), o.postgres, k); err != nil {
			return err
		}
		defer stack.Stop()
	}
	if o.base {
		logf("K=%d: starting the baseline's %d wallet-rpc", k, k)
		if base, err = startBaseline(ctx, mkdir(dir, "baseline"), k); err != nil {
			return err
		}
		defer base.Stop()
	}
	meter := cpuMeter{mine: func() []int {
		pids := []int{os.Getpid()}
		if stack != nil {
			pids = append(append(pids, stack.walletRPCPids()...), stack.s.Temporal.Proc.Pid())
		}
		if base != nil {
			pids = append(pids, base.pids()...)
		}
		return pids
	}}
	if o.warmup {
		logf("K=%d: warm-up (one unmeasured setup each, D=0)", k)
		warm := Config{N: 1, K: k}
		if stack != nil {
			if _, err := batchWithTimeout(ctx, o, warm, fmt.Sprintf("warmup-k%d", k), stack.batch); err != nil {
				return fmt.Errorf("warm-up: %w", err)
			}
		}
		if base != nil {
			if _, err := batchWithTimeout(ctx, o, warm, fmt.Sprintf("warmup-k%d", k), base.batch); err != nil {
				return fmt.Errorf("baseline warm-up: %w", err)
			}
		}
	}
	for _, d := range o.delays {
		for _, n := range o.ns {
			cfg := Config{N: n, K: k, Delay: d}
			prefix := fmt.Sprintf("k%d-d%d-n%d", k, int(d.Seconds()), n)
			for _, sys := range []struct {
				on    bool
				batch func(context.Context, Config, string) (*Result, error)
			}{{stack != nil, batchOf(stack)}, {base != nil, batchOfBaseline(base)}} {
				if !sys.on {
					continue
				}
				res, err := measure(ctx, o, meter, cfg, prefix, sys.batch)
				if err != nil {
					return fmt.Errorf("%s: %w", cfg, err)
				}
				progress(res)
				rep.Results = append(rep.Results, res)
				if err := rep.write(o.out); err != nil {
					return err
				}
				// Let the wallet-rpcs store and the engine settle before the next batch.
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(2 * time.Second):
				}
			}
		}
	}
	return nil
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
		logf("%-8s %-16s other processes used %.0f%% of the machine during the batch: measuring again", res.System, cfg, 100*share)
	}
}

// rewrite redoes the Markdown and the plot from a saved latest.json.
func rewrite(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "latest.json"))
	if err != nil {
		return err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, "latest.json"), err)
	}
	if err := rep.write(dir); err != nil {
		return err
	}
	summary(&rep)
	return nil
}

func batchOf(s *ours) func(context.Context, Config, string) (*Result, error) {
	if s == nil {
		return nil
	}
	return s.batch
}

func batchOfBaseline(b *baseline) func(context.Context, Config, string) (*Result, error) {
	if b == nil {
		return nil
	}
	return b.batch
}

func batchWithTimeout(ctx context.Context, o options, cfg Config, prefix string, batch func(context.Context, Config, string) (*Result, error)) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.batchTimeout)
	defer cancel()
	return batch(ctx, cfg, prefix)
}

func mkdir(parts ...string) string {
	p := filepath.Join(parts...)
	_ = os.MkdirAll(p, 0o755)
	return p
}

// summary prints the ratios and targets after the run.
func summary(rep *Report) {
	for _, c := range rep.Comparisons {
		logf("K=%d D=%s N=%-2d  ours/baseline: p50 latency %.2f×, throughput %.2f×; ours at %.0f%% of the CPU bound",
			c.K, fmtDelay(time.Duration(c.DelayS*float64(time.Second))), c.N, c.LatencyP50Ratio, c.ThroughputRatio, c.OursPctOfCPUBound)
	}
	for _, r := range rep.Results {
		if r.System == "ours" && r.CPUBoundPerMin > 0 {
			logf("CPU bound %s: %d cores / %.1f wallet-rpc CPU-s per escrow × 60 = %.2f escrows/min; ours %.2f/min = %.0f%%",
				r.config(), rep.Machine.NProc, r.WalletRPCCPUPerEsc, r.CPUBoundPerMin, r.ThroughputPerMin, r.PctOfCPUBound)
		}
	}
	for _, t := range rep.Targets {
		logf("3 concurrent vs 1, %s K=%d D=%s: %.1fs vs %.1fs = %.2f× (target ≤ 1.3×: %t)",
			t.System, t.K, fmtDelay(time.Duration(t.DelayS*float64(time.Second))), t.ThreeWallS, t.OneS, t.Ratio, t.Met)
	}
}

func notes() []string {
	return []string{
		"ours: starter.Start for all N at once, starter.WaitReady each (it polls the status query every 200 ms, so a latency may read up to ~0.2 s long); each escrow is terminated as soon as it is ready, so only setups are measured: on --offline wallet-rpcs the funding check that follows Ready cannot succeed (get_transfers with pool answers code 0, retried), and its retries would reopen the old wallet on an instance already leased to the next setup (measured: 3.3 opens per escrow at K=3 N=3 without this).",
		"baseline: the predecessor's design (process-wide creation mutex, serial make_multisig loop with a hard sleep of D after each call, serial exchange rounds, open_wallet/close_wallet around every call) plus the minimum to complete on v0.18: one mutex per wallet-rpc instance (it holds one wallet) and prepare_multisig with enable_multisig_experimental right before make_multisig in the same session; it also checks is_multisig/get_address at the end, as ours does.",
		"both: role i of escrow j on instance (3j+i) mod K for the baseline, leased idle instances for ours; one warm-up setup per system and K is not measured; before each batch the benchmark waits until other processes use < 0.15 cores, and it records the CPU they used during the batch (foreign_cpu_s).",
	}
}
