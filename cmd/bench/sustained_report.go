package main

import (
	"fmt"
	"io"
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
	BlockS   float64 `json:"block_interval_s"`
	KeyCache bool    `json:"keycache"`
	// GrowMax is the pool's budget: it starts at 3 wallet-rpcs and grows to this many.
	GrowMax int          `json:"grow_max"`
	Kinds   []string     `json:"kinds"`
	Results []*SusResult `json:"results"`
}

// SusResult is one N's window.
type SusResult struct {
	// N is the escrows kept in flight.
	N       int     `json:"n"`
	WindowS float64 `json:"window_s"`
	// Completed is how many escrows ended (completed or refunded) in the window.
	Completed int     `json:"completed"`
	PerHour   float64 `json:"completed_per_hour"`
	// Started is every escrow started in the run, warm-up included; Failed those that failed.
	Started int      `json:"started"`
	Failed  int      `json:"failed"`
	Errors  []string `json:"errors,omitempty"`
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
	// MachineCores is the whole machine's busy cores over the window (of Machine.NProc).
	MachineCores float64 `json:"machine_cores_busy"`
}

// String is one N's line as the progress shows it.
func (r *SusResult) String() string {
	return fmt.Sprintf("%d completed in %.0fs = %.0f/h; latency p50 %.0fs p90 %.0fs; pool %d instances, RSS mean %.0f MiB peak %.0f MiB; "+
		"%.1f wallet-rpc CPU-s, %.1f engine CPU-s, %.1f opens per escrow; %.2f cores busy; %d failed",
		r.Completed, r.WindowS, r.PerHour, r.LatencyP50S, r.LatencyP90S, r.PoolInstancesPeak, r.PoolRSSMeanMiB, r.PoolRSSPeakMiB,
		r.WalletRPCCPUPerEscrowS, r.EngineCPUPerEscrowS, r.OpensPerEscrow, r.MachineCores, r.Failed)
}

// markdown is the section.
func (sr *SusReport) markdown(w io.Writer) {
	m := sr.Machine
	fmt.Fprintf(w, "\n## Sustained load\n\n")
	fmt.Fprintf(w, "`make bench BENCH_ARGS=%q`, %s, on %d cores (%s), %s, %s.\n\n", strings.Join(sr.Args, " "), sr.Date, m.NProc, m.CPUModel, m.MemTotal, m.WalletRPC)
	fmt.Fprintf(w, "N escrows kept in flight on one worker, each from order to completed or refunded (outcomes %s in turn), "+
		"a new one started as one ends; a block every %.0f s; the product's own timings; pool of 3 wallet-rpcs growing to %d; key cache %t. "+
		"After N escrows have completed, the window counts those that end in it. Plot: latest-sustained.png.\n\n",
		strings.Join(sr.Kinds, ", "), sr.BlockS, sr.GrowMax, sr.KeyCache)
	fmt.Fprintf(w, "| N | window | completed | per hour | latency p50 / p90 | pool instances (peak) | pool RSS mean / peak | wallet-rpc CPU-s per escrow | engine CPU-s per escrow | opens per escrow | cores busy | failed |\n")
	fmt.Fprintf(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range sr.Results {
		fmt.Fprintf(w, "| %d | %.0f s | %d | **%.0f** | %s / %s s | %d | %s / %s MiB | %s | %s | %s | %s | %d |\n",
			r.N, r.WindowS, r.Completed, r.PerHour, f1(r.LatencyP50S), f1(r.LatencyP90S), r.PoolInstancesPeak,
			f1(r.PoolRSSMeanMiB), f1(r.PoolRSSPeakMiB), f2(r.WalletRPCCPUPerEscrowS), f2(r.EngineCPUPerEscrowS), f1(r.OpensPerEscrow), f2(r.MachineCores), r.Failed)
	}
	for _, r := range sr.Results {
		for _, e := range r.Errors {
			fmt.Fprintf(w, "\n- N=%d: %s", r.N, e)
		}
	}
	fmt.Fprintln(w)
}

// plot draws completed escrows per hour against N, and the pool's mean memory on a second
// panel, into one PNG.
func (sr *SusReport) plot(path string) error {
	thr, mem := plot.New(), plot.New()
	thr.Title.Text, thr.X.Label.Text, thr.Y.Label.Text = "sustained throughput", "N escrows in flight", "completed escrows per hour"
	mem.Title.Text, mem.X.Label.Text, mem.Y.Label.Text = "wallet-rpc pool memory", "N escrows in flight", "MiB resident (mean)"
	var ns []int
	var txy, mxy plotter.XYs
	for _, r := range sr.Results {
		if r.Completed == 0 {
			continue
		}
		ns = append(ns, r.N)
		txy = append(txy, plotter.XY{X: float64(r.N), Y: r.PerHour})
		mxy = append(mxy, plotter.XY{X: float64(r.N), Y: r.PoolRSSMeanMiB})
	}
	if len(ns) == 0 {
		return nil
	}
	for i, a := range []struct {
		p   *plot.Plot
		xys plotter.XYs
	}{{thr, txy}, {mem, mxy}} {
		a.p.Add(plotter.NewGrid())
		a.p.X.Tick.Marker = intTicks(ns)
		a.p.Y.Min = 0
		l, s, err := plotter.NewLinePoints(a.xys)
		if err != nil {
			return err
		}
		l.Color, s.Color, s.Shape = plotutil.Color(i), plotutil.Color(i), plotutil.Shape(i)
		l.Width = vg.Points(1.5)
		a.p.Add(l, s)
	}
	return savePair(path, thr, mem)
}
