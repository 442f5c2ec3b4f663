package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// SusReport is the sustained-load section (-sustained) of latest.md and latest.json.
type SusReport struct {
	Date    string   `json:"date"`
	Machine Machine  `json:"machine"`
	Args    []string `json:"args"`
	// BlockS is the regtest chain's block interval.
	BlockS float64 `json:"block_interval_s"`
	// GrowMax is the pool's budget: it starts at each result's K and grows to this many.
	GrowMax int          `json:"grow_max"`
	Kinds   []string     `json:"kinds"`
	Results []*SusResult `json:"results"`
	// Earlier names the runs whose results merge kept (their date and arguments).
	Earlier []string `json:"earlier_runs,omitempty"`
}

// SusResult is one N's window.
type SusResult struct {
	// KeyCache is whether the pool's wallet-rpcs ran with the key cache.
	KeyCache bool `json:"keycache"`
	// K is the wallet-rpcs the pool started with.
	K int `json:"k"`
	// N is the escrows kept in flight.
	N       int     `json:"n"`
	WindowS float64 `json:"window_s"`
	// Completed is how many escrows ended (completed or refunded) in the window.
	Completed int     `json:"completed"`
	PerHour   float64 `json:"completed_per_hour"`
	// Started is every escrow started in the run, warm-up included; Failed those that failed.
	Started int `json:"started"`
	Failed  int `json:"failed"`
	// Parked is how often the worker logged a payout parked, over the whole run: a payout
	// that cannot proceed parks visibly and resumes, so it counts here, not in Failed.
	Parked int      `json:"payouts_parked"`
	Errors []string `json:"errors,omitempty"`
	// LatencyP50S and LatencyP90S are order → completed of the escrows ended in the window.
	LatencyP50S float64 `json:"latency_p50_s"`
	LatencyP90S float64 `json:"latency_p90_s"`
	// PoolRSS* is the wallet-rpc pool's resident memory, summed over its instances, sampled
	// every 5 s in the window; PoolInstancesPeak the most instances it had.
	PoolRSSMeanMiB    float64 `json:"pool_rss_mean_mib"`
	PoolRSSPeakMiB    float64 `json:"pool_rss_peak_mib"`
	PoolInstancesPeak int     `json:"pool_instances_peak"`
	// WalletRPCCPUPerEscrowS is the pool's CPU in the window over Completed;
	// EngineCPUPerEscrowS the dev server's and this process's (worker, drivers).
	WalletRPCCPUPerEscrowS float64 `json:"walletrpc_cpu_per_escrow_s"`
	EngineCPUPerEscrowS    float64 `json:"engine_cpu_per_escrow_s"`
	// OpensPerEscrow is the worker's open_wallet calls in the window over Completed.
	OpensPerEscrow float64 `json:"opens_per_escrow"`
	// YieldsPerEscrow is the steps that stood back for another escrow's setup (each paused
	// 5 s or 10 s before its retry: docs/design.md, "Polls stand back for setups") over Completed.
	// Nil in rows from before it was measured.
	YieldsPerEscrow *float64 `json:"yields_per_escrow,omitempty"`
	// MachineCores is the whole machine's busy cores over the window (of Machine.NProc).
	MachineCores float64 `json:"machine_cores_busy"`
}

// String is one N's line as the progress shows it.
func (r *SusResult) String() string {
	return fmt.Sprintf("%d completed in %.0fs = %.0f/h; latency p50 %.0fs p90 %.0fs; pool %d instances, RSS mean %.0f MiB peak %.0f MiB; "+
		"%.1f wallet-rpc CPU-s, %.1f engine CPU-s, %.1f opens, %.1f stand-backs per escrow; %.2f cores busy; %d payouts parked, %d failed",
		r.Completed, r.WindowS, r.PerHour, r.LatencyP50S, r.LatencyP90S, r.PoolInstancesPeak, r.PoolRSSMeanMiB, r.PoolRSSPeakMiB,
		r.WalletRPCCPUPerEscrowS, r.EngineCPUPerEscrowS, r.OpensPerEscrow, r.yields(), r.MachineCores, r.Parked, r.Failed)
}

// markdown is the section.
func (sr *SusReport) markdown(w io.Writer) {
	m := sr.Machine
	fmt.Fprintf(w, "\n## Sustained load\n\n")
	fmt.Fprintf(w, "`make bench BENCH_ARGS=%q`, %s, on %d cores (%s), %s, %s.\n\n", strings.Join(sr.Args, " "), sr.Date, m.NProc, m.CPUModel, m.MemTotal, m.WalletRPC)
	fmt.Fprintf(w, "N escrows kept in flight on one worker, each from order to completed or refunded (outcomes %s in turn), "+
		"a new one started as one ends; a block every %.0f s; the product's own timings; pool of K wallet-rpcs growing to %d. "+
		"After N escrows have completed, the window counts those that end in it. Plot: latest-sustained.png.\n\n",
		strings.Join(sr.Kinds, ", "), sr.BlockS, sr.GrowMax)
	for _, e := range sr.Earlier {
		fmt.Fprintf(w, "Rows this run did not measure (other key cache, K or N) come from an earlier run, %s.\n\n", e)
	}
	fmt.Fprintf(w, "| key cache | K | N | window | completed | per hour | latency p50 / p90 | pool instances (peak) | pool RSS mean / peak | wallet-rpc CPU-s per escrow | engine CPU-s per escrow | opens per escrow | stand-backs per escrow | cores busy | payouts parked (whole run) | failed |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range sr.Results {
		fmt.Fprintf(w, "| %t | %d | %d | %.0f s | %d | **%.0f** | %s / %s s | %d | %s / %s MiB | %s | %s | %s | %s | %s | %d | %d |\n",
			r.KeyCache, r.K, r.N, r.WindowS, r.Completed, r.PerHour, f1(r.LatencyP50S), f1(r.LatencyP90S), r.PoolInstancesPeak,
			f1(r.PoolRSSMeanMiB), f1(r.PoolRSSPeakMiB), f2(r.WalletRPCCPUPerEscrowS), f2(r.EngineCPUPerEscrowS), f1(r.OpensPerEscrow), f1(r.yields()), f2(r.MachineCores), r.Parked, r.Failed)
	}
	for _, r := range sr.Results {
		for _, e := range r.Errors {
			fmt.Fprintf(w, "\n- key cache %t, K=%d, N=%d: %s", r.KeyCache, r.K, r.N, e)
		}
	}
	fmt.Fprintln(w)
}

// plot draws completed escrows per hour against N, and the pool's mean memory on a second
// panel, into one PNG: one line per key-cache variant.
func (sr *SusReport) plot(path string) error {
	thr, mem := plot.New(), plot.New()
	thr.Title.Text, thr.X.Label.Text, thr.Y.Label.Text = "sustained throughput", "N escrows in flight", "completed escrows per hour"
	mem.Title.Text, mem.X.Label.Text, mem.Y.Label.Text = "wallet-rpc pool memory", "N escrows in flight", "MiB resident (mean)"
	// The legend stays bottom right, where no line goes: throughput rises with N.
	var ns []int
	drawn := false
	for i, v := range sr.variants() {
		var txy, mxy plotter.XYs
		for _, r := range sr.Results {
			if r.variant() != v || r.Completed == 0 {
				continue
			}
			if !slices.Contains(ns, r.N) {
				ns = append(ns, r.N)
			}
			txy = append(txy, plotter.XY{X: float64(r.N), Y: r.PerHour})
			mxy = append(mxy, plotter.XY{X: float64(r.N), Y: r.PoolRSSMeanMiB})
		}
		if len(txy) == 0 {
			continue
		}
		drawn = true
		for _, a := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{thr, txy}, {mem, mxy}} {
			sort.Slice(a.xys, func(i, j int) bool { return a.xys[i].X < a.xys[j].X })
			l, s, err := plotter.NewLinePoints(a.xys)
			if err != nil {
				return err
			}
			l.Color, s.Color, s.Shape = plotutil.Color(i), plotutil.Color(i), plotutil.Shape(i)
			l.Width = vg.Points(1.5)
			a.p.Add(l, s)
			if a.p == thr {
				thr.Legend.Add(fmt.Sprintf("K=%d, key cache %s", v.k, onOff(v.keycache)), l, s)
			}
		}
	}
	if !drawn {
		return nil
	}
	slices.Sort(ns)
	for _, p := range []*plot.Plot{thr, mem} {
		p.Add(plotter.NewGrid())
		p.X.Tick.Marker = intTicks(ns)
		p.Y.Min = 0
	}
	return savePair(path, thr, mem)
}

// yields is YieldsPerEscrow, NaN where it was not measured.
func (r *SusResult) yields() float64 {
	if r.YieldsPerEscrow == nil {
		return math.NaN()
	}
	return *r.YieldsPerEscrow
}

// onOff is a key-cache setting as the plot's legend says it.
func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// susVariant is what tells a sustained run's rows apart besides N.
type susVariant struct {
	keycache bool
	k        int
}

// variant is the row's variant.
func (r *SusResult) variant() susVariant { return susVariant{r.KeyCache, r.K} }

// variants are the report's variants, in the order their rows come.
func (sr *SusReport) variants() []susVariant {
	var out []susVariant
	for _, r := range sr.Results {
		if !slices.Contains(out, r.variant()) {
			out = append(out, r.variant())
		}
	}
	return out
}

// merge keeps the rows of an earlier run (prev) that this run did not measure (another key
// cache, K or N), so that several runs (-keycache, -sustained-k, -sustained-n) fill one table.
func (sr *SusReport) merge(prev *SusReport) {
	if prev == nil {
		return
	}
	type row struct {
		v susVariant
		n int
	}
	var ran []row
	for _, r := range sr.Results {
		ran = append(ran, row{r.variant(), r.N})
	}
	kept := false
	for _, r := range prev.Results {
		if !slices.Contains(ran, row{r.variant(), r.N}) {
			sr.Results, kept = append(sr.Results, r), true
		}
	}
	if kept {
		sr.Earlier = append(sr.Earlier, fmt.Sprintf("%s: make bench BENCH_ARGS=%q", prev.Date, strings.Join(prev.Args, " ")))
		sr.Earlier = append(sr.Earlier, prev.Earlier...)
	}
	sort.SliceStable(sr.Results, func(i, j int) bool {
		a, b := sr.Results[i], sr.Results[j]
		if a.KeyCache != b.KeyCache {
			return a.KeyCache
		}
		if a.K != b.K {
			return a.K < b.K
		}
		return a.N < b.N
	})
}
