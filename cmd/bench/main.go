// Command bench measures escrow setups: N concurrent 2-of-3 multisig setups over K
// monero-wallet-rpc instances, with the purge delay D, on real Temporal and wallet-rpc
// processes, for three systems in the same run, each on a wallet-rpc pool of its own:
//
//   - ours: the product (the local stack: dev server, supervised wallet-rpc pool, worker,
//     PostgreSQL projection). Its pool points at a daemon, and a ready escrow goes on to the
//     funding wait as in production, so later setups of a batch run next to the funding
//     checks of earlier ones (ours.go). It runs once per daemon variant (-daemon): up, a
//     regtest monerod of the benchmark's own; down, a closed loopback port, so every
//     funding-wait step that needs the daemon fails and is retried (series "ours-down").
//   - script: the direct script, wallet-rpc JSON-RPC calls with the wallets kept open, the
//     floor the product's engine is measured against (script.go).
//   - baseline: the predecessor's design (baseline.go).
//
// Every system's wallet-rpcs start with the same flags (the first daemon variant's
// --daemon-address, --daemon-ssl disabled, the key cache per -keycache), except that the
// baseline runs stock wallet-rpc as the predecessor did (-baseline-keycache). It prints one line
// per configuration and a summary, and writes bench/results/latest.json, latest.md,
// latest.png (latency and throughput against N) and latest-purge.png (throughput against
// D), bench/results at the repository's root wherever it is run from.
//
// Defaults (about 30 minutes on 2 cores): -n 1,3,12 -k 3 -delays 0s,10s -daemon up,down
// -systems ours,script,baseline -repeat 3 -keycache -grow-max 30 -funding-poll 0 (the
// product's), a warm-up setup per system and K, and a wait for a quiet machine before each
// batch (-quiet-wait 30m). Ours' pool starts at K and grows to -grow-max while setups wait
// for a lease, at every purge delay alike: that is the product's answer to purge timers
// (docs/design.md, "An elastic pool"); the script and the baseline keep K. Single-escrow
// batches of ours (first variant) and the script run -repeat times, taking turns: the summary's ours ÷
// script takes their medians. Throughput ratios use the sustained rate (Result.SustainedPerMin).
//
// With -lifecycle it runs whole escrows instead of the setup matrix (lifecycle.go): order →
// Ready → paid → funded → decision → payout submitted → confirmed → completed or refunded, on a
// regtest chain of its own, for ours and the script (-systems; the baseline has no payout),
// -repeat times per outcome (-lifecycle-kinds release,refund; default release), with the key
// cache and without in the same run (-keycache does not apply). -lifecycle-n (default 1) sets
// the escrows in flight: 1 runs them one at a time; N>1 runs N at once, phase by phase, their
// outcomes taken in turn, each system on 3 wallet-rpcs per escrow in flight. Per
// phase (setup, funding, payout, and -lifecycle-after, a window after completion) it records
// wall time, wallet-rpc CPU and open_wallet calls, and decision → payout submitted; it adds a
// "Full lifecycles" section to -out's latest.md and latest.json, keeping the setup results
// there:
//
//	make bench BENCH_ARGS="-lifecycle -lifecycle-kinds release,refund"
//	make bench BENCH_ARGS="-lifecycle -lifecycle-kinds release,refund -lifecycle-n 1,3"
//
// With -sustained it measures scale instead (sustained.go): N escrows kept in flight on ours
// (-sustained-n, default 1,12,30,100), each from order to completed or refunded, outcomes
// release, refund and dispute in turn, a new one started as one ends, on a regtest chain
// mining a block every -sustained-block (2 s), with the product's own timings and a pool of
// -sustained-k wallet-rpcs (3) growing to -grow-max as the product grows it. After N escrows have completed it counts those that end
// in a window (-sustained-window, 5 min): completed escrows per hour, latency, the pool's
// resident memory and instances, wallet-rpc and engine CPU and open_wallet calls per
// escrow. Key cache per -keycache; a run keeps the other variant's rows from -out's
// latest.json, so two runs fill one table. It adds a "Sustained load" section and
// latest-sustained.png (throughput and memory against N):
//
//	make bench BENCH_ARGS="-sustained"
//	make bench BENCH_ARGS="-sustained -keycache=false -sustained-n 12,100"
//
// It is a Go module of its own (cmd/bench/go.mod, with a replace directive onto the product
// in ../..), so that its plotting dependencies stay out of the product's module and
// `make build` does not build it. Run it from the repository's root with make:
//
//	make bench                                                        # the defaults
//	make bench BENCH_ARGS="-n 1,3 -k 3 -delays 0s -systems ours,script" # a quick run (~5 min)
//	make bench BENCH_ARGS="-n 1,3,6 -delays 0s,5s,10s"                # the long run (~1 h)
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
	"slices"
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
	ns, ks             []int
	delays             []time.Duration
	daemons            []string
	out                string
	postgres           string
	ours, script, base bool
	warmup, keep       bool
	keycache           bool
	baselineKeyCache   bool
	growMax            int
	repeat             int
	fundingPoll        time.Duration
	batchTimeout       time.Duration
	quietWait          time.Duration
	reportOnly         bool
	// lifecycle is -lifecycle: whole escrows instead of the setup matrix (lifecycle.go).
	lifecycle bool
	lifeKinds []string
	lifeNs    []int
	lifeAfter time.Duration
	// sustained is -sustained: N escrows kept in flight, completions per hour (sustained.go).
	sustained bool
	susNs     []int
	susWindow time.Duration
	susBlock  time.Duration
	susK      int
}

func parseFlags() (options, error) {
	var o options
	n := flag.String("n", "1,3,12", "numbers of concurrent setups per batch")
	k := flag.String("k", "3", "wallet-rpc pool sizes")
	d := flag.String("delays", "0s,10s", "purge delays (e.g. 0s,5s,10s for latest-purge.png)")
	systems := flag.String("systems", "ours,script,baseline", "what to run: any of ours, script, baseline")
	daemon := flag.String("daemon", "up,down", "daemon variants ours runs with: up (a regtest monerod), down (a closed loopback port: every funding-wait step that needs the daemon fails); the script and the baseline run with the first one's wallet-rpc flags")
	flag.BoolVar(&o.keycache, "keycache", true, "run every system's wallet-rpcs with the product's key cache (walletproc.Options.NoKeyCache = !keycache)")
	flag.BoolVar(&o.baselineKeyCache, "baseline-keycache", false, "run the baseline's wallet-rpcs with the key cache too (default: stock, as the predecessor ran them; the key cache is the product's)")
	flag.IntVar(&o.growMax, "grow-max", 30, "ours' pool budget: it starts at K wallet-rpcs and grows to this many while setups wait for a lease, at every purge delay alike (0 or K: a fixed pool)")
	flag.IntVar(&o.repeat, "repeat", 3, "measure each single-escrow batch (N=1) of ours (first daemon variant) and the script this many times; the summary takes medians")
	flag.DurationVar(&o.fundingPoll, "funding-poll", 0, "first wait between an escrow's funding checks (0: the product's defaults)")
	flag.StringVar(&o.out, "out", defaultOut(), "where latest.json, latest.md, latest.png and latest-purge.png go")
	flag.StringVar(&o.postgres, "postgres", defaultPostgres(), "PostgreSQL server the benchmark creates (and drops) its projection databases on")
	flag.BoolVar(&o.warmup, "warmup", true, "run one unmeasured setup per system and K first")
	flag.BoolVar(&o.keep, "keep", false, "keep the work dir (wallets, logs, Temporal database)")
	flag.DurationVar(&o.batchTimeout, "batch-timeout", 30*time.Minute, "give up on a batch after this long")
	flag.BoolVar(&o.reportOnly, "report-only", false, "measure nothing: rewrite latest.md and the plots from -out's latest.json")
	flag.DurationVar(&o.quietWait, "quiet-wait", 30*time.Minute, "before each batch, wait up to this long until other processes use < 0.15 cores (0: don't wait)")
	flag.BoolVar(&o.lifecycle, "lifecycle", false, "instead of the setup matrix, run whole escrows (order to completed or refunded) on a regtest chain for ours and the script, one at a time, -repeat times per outcome, with and without the key cache; adds a section to -out's latest.md and latest.json")
	kinds := flag.String("lifecycle-kinds", kindRelease, "with -lifecycle, the outcomes to run: any of release, refund")
	lifeN := flag.String("lifecycle-n", "1", "with -lifecycle, the numbers of escrows in flight at once (N>1: phase by phase, the outcomes taken in turn)")
	flag.BoolVar(&o.sustained, "sustained", false, "instead of the setup matrix, keep N escrows in flight on ours (order to completed, outcomes release, refund and dispute in turn, a new one started as one ends) on a regtest chain, and count those that end in a window; key cache per -keycache, pool growing to -grow-max; adds a section to -out's latest.md and latest.json, and latest-sustained.png")
	susN := flag.String("sustained-n", "1,12,30,100", "with -sustained, the numbers of escrows kept in flight")
	flag.DurationVar(&o.susWindow, "sustained-window", 5*time.Minute, "with -sustained, how long each N's window lasts (after N escrows have completed)")
	flag.IntVar(&o.susK, "sustained-k", 3, "with -sustained, the wallet-rpcs ours' pool starts with (it grows to -grow-max as the product grows it)")
	flag.DurationVar(&o.susBlock, "sustained-block", 2*time.Second, "with -sustained, the regtest chain's block interval")
	flag.DurationVar(&o.lifeAfter, "lifecycle-after", 10*time.Second, "with -lifecycle, the window after completion whose wallet-rpc CPU and opens are measured")
	flag.Parse()
	var err error
	if o.lifeKinds, err = choices("-lifecycle-kinds", *kinds, kindRelease, kindRefund); err != nil {
		return o, err
	}
	if o.ns, err = ints(*n); err != nil {
		return o, fmt.Errorf("-n: %w", err)
	}
	if o.lifeNs, err = ints(*lifeN); err != nil {
		return o, fmt.Errorf("-lifecycle-n: %w", err)
	}
	if o.susNs, err = ints(*susN); err != nil {
		return o, fmt.Errorf("-sustained-n: %w", err)
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
		case "script":
			o.script = true
		case "baseline":
			o.base = true
		default:
			return o, fmt.Errorf("-systems: unknown %q", s)
		}
	}
	if o.daemons, err = choices("-daemon", *daemon, daemonUp, daemonDown); err != nil {
		return o, err
	}
	for _, k := range o.ks {
		if k < 3 {
			return o, errors.New("-k: a setup needs at least 3 wallet-rpcs")
		}
	}
	if o.susK < 3 {
		return o, errors.New("-sustained-k: a setup needs at least 3 wallet-rpcs")
	}
	if o.repeat < 1 {
		return o, errors.New("-repeat: at least 1")
	}
	return o, nil
}

// choices parses a comma-separated flag value whose items must be among allowed, dropping
// repeats and keeping the order given.
func choices(name, raw string, allowed ...string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(raw, ",") {
		v := strings.TrimSpace(s)
		if !slices.Contains(allowed, v) {
			return nil, fmt.Errorf("%s: unknown %q (%s)", name, s, strings.Join(allowed, " or "))
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
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
	rep := &Report{Machine: machineInfo(), Args: os.Args[1:], Ns: o.ns, Ks: o.ks, Daemons: o.daemons, KeyCache: o.keycache, BaselineKeyCache: o.baselineKeyCache,
		FundingPollS: o.fundingPoll.Seconds(), Repeat: o.repeat, Notes: notes()}
	for _, d := range o.delays {
		rep.DelaysS = append(rep.DelaysS, d.Seconds())
	}
	// A lifecycle section from an earlier -lifecycle run stays (it names its own run and
	// machine): the two modes share latest.md and latest.json.
	if prev, err := loadReport(o.out); err == nil {
		rep.Lifecycle, rep.Sustained = prev.Lifecycle, prev.Sustained
	}
	if o.lifecycle {
		return lifecycle(ctx, o, work)
	}
	if o.sustained {
		return sustained(ctx, o, work)
	}
	m := rep.Machine
	logf("machine: %d cores (%s), %s, %s, %s", m.NProc, m.CPUModel, m.MemTotal, m.GoVersion, m.WalletRPC)
	logf("matrix: N=%v K=%v D=%v; ours=%t (daemon %v) script=%t baseline=%t; key cache %t; repeat %d; results into %s",
		o.ns, o.ks, o.delays, o.ours, o.daemons, o.script, o.base, o.keycache, o.repeat, o.out)
	began := time.Now()
	dm, err := startDaemons(ctx, work, o.daemons)
	if err != nil {
		return err
	}
	defer dm.Stop()
	for _, k := range o.ks {
		if err := runK(ctx, o, rep, filepath.Join(work, fmt.Sprintf("k%d", k)), k, dm); err != nil {
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
	logf("done in %s: %s", time.Since(began).Round(time.Second), filepath.Join(o.out, "latest.{json,md,png}, latest-purge.png"))
	return nil
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

func mkdir(parts ...string) string {
	p := filepath.Join(parts...)
	_ = os.MkdirAll(p, 0o755)
	return p
}
