package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
)

// Summary is the run's headline numbers, derived from the results (issue 13, items 1–4).
type Summary struct {
	// Single is ours ÷ script for one escrow alone, per K and D, on the medians of the
	// repeated single-escrow runs.
	Single []SingleRatio `json:"single_escrow_ours_over_script"`
	// CPU is each series' median wallet-rpc CPU-s per escrow over all its batches.
	CPU []SeriesCPU `json:"median_cpu_per_escrow"`
	// Purge is each series' sustained throughput (largest N) at the largest purge delay
	// over the one at D=0, per K.
	Purge []PurgeRatio `json:"purge_delay_cost"`
	// Bound is each series' N=3 wall time over its CPU bound, 3 × median CPU-s per escrow ÷
	// cores: 1 means three escrows took no longer than their CPU forces.
	Bound []BoundRatio `json:"three_at_once_over_cpu_bound"`
	// Sustained is ours' throughput over the baseline's and the script's at the largest N,
	// per K and D.
	Sustained []SustainedRatio `json:"sustained_throughput_ours_over_others"`
	// Daemon compares ours' setups with the daemon up and down, per K, D and N.
	Daemon []DaemonRow `json:"daemon_variants,omitempty"`
}

// SingleRatio is ours ÷ script for one escrow alone.
type SingleRatio struct {
	K          int     `json:"k"`
	DelayS     float64 `json:"delay_s"`
	Runs       int     `json:"runs"` // the fewer of the two systems' runs
	OursWallS  float64 `json:"ours_wall_s"`
	ScriptWall float64 `json:"script_wall_s"`
	WallRatio  float64 `json:"wall_ratio"`
	OursCPUS   float64 `json:"ours_cpu_s"`
	ScriptCPUS float64 `json:"script_cpu_s"`
	CPURatio   float64 `json:"cpu_ratio"`
}

// SeriesCPU is one series' median wallet-rpc CPU-s per escrow.
type SeriesCPU struct {
	Series  string  `json:"series"`
	Batches int     `json:"batches"`
	MedianS float64 `json:"median_s"`
}

// PurgeRatio is the sustained throughput (Result.SustainedPerMin) at the largest purge
// delay over the one at D=0.
type PurgeRatio struct {
	Series string  `json:"series"`
	K      int     `json:"k"`
	N      int     `json:"n"`
	DelayS float64 `json:"delay_s"`
	Ratio  float64 `json:"ratio"`
}

// BoundRatio is the N=3 wall time over the CPU bound of three escrows.
type BoundRatio struct {
	Series string  `json:"series"`
	K      int     `json:"k"`
	DelayS float64 `json:"delay_s"`
	WallS  float64 `json:"three_wall_s"`
	BoundS float64 `json:"cpu_bound_s"`
	Ratio  float64 `json:"ratio"`
}

// SustainedRatio is ours' sustained throughput (Result.SustainedPerMin) over the others'
// at the largest N.
type SustainedRatio struct {
	K              int     `json:"k"`
	DelayS         float64 `json:"delay_s"`
	N              int     `json:"n"`
	OverBaseline   float64 `json:"ours_over_baseline"`
	OverScript     float64 `json:"ours_over_script"`
	OursPerMin     float64 `json:"ours_per_min"`
	BaselinePerMin float64 `json:"baseline_per_min"`
	ScriptPerMin   float64 `json:"script_per_min"`
}

// DaemonRow is ours with the daemon up next to ours with it down, for one Config.
type DaemonRow struct {
	K      int     `json:"k"`
	DelayS float64 `json:"delay_s"`
	N      int     `json:"n"`
	// Per variant (index 0 up, 1 down): p50 setup latency, throughput, open_wallet per
	// escrow during the setups, and attempts of funding-wait steps per escrow during the batch.
	P50S          [2]float64 `json:"p50_s"`
	PerMin        [2]float64 `json:"per_min"`
	SetupOpens    [2]float64 `json:"setup_opens_per_escrow"`
	FundingAttmpt [2]float64 `json:"funding_attempts_per_escrow"`
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// summarize derives the Summary from the results.
func (rep *Report) summarize() *Summary {
	s := &Summary{}
	ref := rep.oursRef()
	nmax := slices.Max(append([]int{0}, rep.Ns...))
	dmax := slices.Max(append([]float64{0}, rep.DelaysS...))
	cpu := map[string]float64{}
	for _, ser := range series {
		var v []float64
		for _, r := range rep.Results {
			if r.Series() == ser && r.WalletRPCCPUPerEsc > 0 {
				v = append(v, r.WalletRPCCPUPerEsc)
			}
		}
		if len(v) > 0 {
			cpu[ser] = median(v)
			s.CPU = append(s.CPU, SeriesCPU{Series: ser, Batches: len(v), MedianS: cpu[ser]})
		}
	}
	for _, k := range rep.Ks {
		for _, ds := range rep.DelaysS {
			d := delayOf(ds)
			o, sc := rep.find(ref, Config{N: 1, K: k, Delay: d}), rep.find("script", Config{N: 1, K: k, Delay: d})
			if ok(o) && ok(sc) {
				s.Single = append(s.Single, SingleRatio{K: k, DelayS: ds, Runs: min(max(len(o.Repeats), 1), max(len(sc.Repeats), 1)),
					OursWallS: o.wallMedian(), ScriptWall: sc.wallMedian(), WallRatio: ratio(o.wallMedian(), sc.wallMedian()),
					OursCPUS: o.cpuMedian(), ScriptCPUS: sc.cpuMedian(), CPURatio: ratio(o.cpuMedian(), sc.cpuMedian())})
			}
			for _, ser := range series {
				three := rep.find(ser, Config{N: 3, K: k, Delay: d})
				if ok(three) && cpu[ser] > 0 {
					bound := 3 * cpu[ser] / float64(rep.Machine.NProc)
					s.Bound = append(s.Bound, BoundRatio{Series: ser, K: k, DelayS: ds, WallS: three.WallS, BoundS: bound, Ratio: three.WallS / bound})
				}
			}
			c := Config{N: nmax, K: k, Delay: d}
			if o := rep.find(ref, c); ok(o) {
				row := SustainedRatio{K: k, DelayS: ds, N: nmax, OursPerMin: o.SustainedPerMin}
				if b := rep.find("baseline", c); ok(b) {
					row.BaselinePerMin, row.OverBaseline = b.SustainedPerMin, ratio(o.SustainedPerMin, b.SustainedPerMin)
				}
				if sc := rep.find("script", c); ok(sc) {
					row.ScriptPerMin, row.OverScript = sc.SustainedPerMin, ratio(o.SustainedPerMin, sc.SustainedPerMin)
				}
				s.Sustained = append(s.Sustained, row)
			}
			for _, n := range rep.Ns {
				c := Config{N: n, K: k, Delay: d}
				up, down := rep.find("ours", c), rep.find("ours-down", c)
				if !ok(up) || !ok(down) {
					continue
				}
				row := DaemonRow{K: k, DelayS: ds, N: n}
				for i, r := range []*Result{up, down} {
					row.P50S[i], row.PerMin[i], row.SetupOpens[i], row.FundingAttmpt[i] = r.P50S, r.ThroughputPerMin, r.OpensPerEscrow, r.FundingAttemptsPerEscrow
				}
				s.Daemon = append(s.Daemon, row)
			}
		}
		if dmax > 0 {
			for _, ser := range series {
				hi, lo := rep.find(ser, Config{N: nmax, K: k, Delay: delayOf(dmax)}), rep.find(ser, Config{N: nmax, K: k})
				if ok(hi) && ok(lo) {
					s.Purge = append(s.Purge, PurgeRatio{Series: ser, K: k, N: nmax, DelayS: dmax, Ratio: ratio(hi.SustainedPerMin, lo.SustainedPerMin)})
				}
			}
		}
	}
	return s
}

// lines renders the summary as the lines the run prints at its end and latest.md lists.
func (s *Summary) lines(nproc int) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, r := range s.Single {
		add("one escrow alone, K=%d D=%s (median of %d runs): ours ÷ script wall %.1fs / %.1fs = %.2f×, wallet-rpc CPU %.1f / %.1f CPU-s = %.2f×",
			r.K, fmtDelay(delayOf(r.DelayS)), r.Runs, r.OursWallS, r.ScriptWall, r.WallRatio, r.OursCPUS, r.ScriptCPUS, r.CPURatio)
	}
	for _, c := range s.CPU {
		add("median wallet-rpc CPU-s per escrow, %s: %.2f (over %d batches)", c.Series, c.MedianS, c.Batches)
	}
	for _, p := range s.Purge {
		add("purge delay cost, %s K=%d N=%d: sustained throughput at D=%s ÷ at D=0 = %.2f", p.Series, p.K, p.N, fmtDelay(delayOf(p.DelayS)), p.Ratio)
	}
	for _, b := range s.Bound {
		add("3 at once vs the CPU bound, %s K=%d D=%s: wall %.1fs ÷ (3 × median CPU-s ÷ %d cores = %.1fs) = %.2f×",
			b.Series, b.K, fmtDelay(delayOf(b.DelayS)), b.WallS, nproc, b.BoundS, b.Ratio)
	}
	for _, t := range s.Sustained {
		add("sustained throughput K=%d D=%s N=%d: ours %.2f/min, ÷ baseline %s/min = %s, ÷ script %s/min = %s",
			t.K, fmtDelay(delayOf(t.DelayS)), t.N, t.OursPerMin, f2z(t.BaselinePerMin), fx(t.OverBaseline), f2z(t.ScriptPerMin), fx(t.OverScript))
	}
	for _, d := range s.Daemon {
		add("daemon up vs down, ours K=%d D=%s N=%d: p50 %.1fs / %.1fs, %.2f / %.2f per min, setup opens/escrow %.1f / %.1f, funding-wait step attempts/escrow %.1f / %.1f",
			d.K, fmtDelay(delayOf(d.DelayS)), d.N, d.P50S[0], d.P50S[1], d.PerMin[0], d.PerMin[1], d.SetupOpens[0], d.SetupOpens[1], d.FundingAttmpt[0], d.FundingAttmpt[1])
	}
	return out
}

// markdown writes the summary block of latest.md.
func (s *Summary) markdown(w io.Writer, nproc int) {
	lines := s.lines(nproc)
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "## Summary\n\n")
	for _, l := range lines {
		fmt.Fprintf(w, "- %s\n", l)
	}
	fmt.Fprintf(w, "\n")
}

// f2z renders 0 (not measured) as "–".
func f2z(v float64) string {
	if v == 0 {
		return "–"
	}
	return f2(v)
}

// fx renders a ratio as "1.23×", 0 (not measured) as "–".
func fx(v float64) string {
	if v == 0 {
		return "–"
	}
	return f2(v) + "×"
}
