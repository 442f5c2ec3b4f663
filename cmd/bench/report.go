package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// progress prints one line per measured configuration.
func progress(r *Result) {
	line := fmt.Sprintf("%-9s %-16s p50 %6.1fs  p95 %6.1fs  wall %6.1fs  %5.2f/min  wallet-rpc %5.1f CPU-s/escrow  %4.1f opens/escrow",
		r.Series(), r.config(), r.P50S, r.P95S, r.WallS, r.ThroughputPerMin, r.WalletRPCCPUPerEsc, r.OpensPerEscrow)
	if len(r.Repeats) > 1 {
		line += fmt.Sprintf(" (median of %d: wall %.1fs, %.1f CPU-s)", len(r.Repeats), r.MedianWallS, r.MedianCPUPerEscS)
	}
	if r.System == "ours" {
		line += fmt.Sprintf("  all opens %.1f/escrow, funding-wait wallet steps %.1f (%.1f attempts)/escrow%s", r.WorkerOpensPerEscrow, r.FundingChecksPerEscrow, r.FundingAttemptsPerEscrow, stepTypes(r.FundingStepsPerEscrow))
	}
	if r.Path != nil {
		line += fmt.Sprintf("  overhead %5.1fs (lease wait %5.1fs)  %3.0f%% of CPU bound", r.Path.TemporalOverheadS, r.Path.LeaseWaitS, r.PctOfCPUBound)
	}
	if r.Failed > 0 {
		line += fmt.Sprintf("  FAILED %d: %s", r.Failed, strings.Join(r.Errors, "; "))
	}
	logf("%s", line)
	for _, w := range r.Warnings {
		logf("         warning: %s", w)
	}
}

// write saves latest.json, latest.md, latest.png and latest-purge.png under dir.
func (rep *Report) write(dir string) error {
	rep.derive()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "latest.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	var md strings.Builder
	rep.markdown(&md)
	if err := os.WriteFile(filepath.Join(dir, "latest.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	if rep.Sustained != nil {
		if err := rep.Sustained.plot(filepath.Join(dir, "latest-sustained.png")); err != nil {
			return err
		}
	}
	if len(rep.Results) == 0 {
		// A lifecycle or sustained run with no setup results to keep: nothing else to plot.
		return nil
	}
	if err := rep.plot(filepath.Join(dir, "latest.png")); err != nil {
		return err
	}
	return rep.plotPurge(filepath.Join(dir, "latest-purge.png"))
}

func f1(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.1f", v)
}

func f2(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f", v)
}

func (rep *Report) markdown(w io.Writer) {
	if len(rep.Results) == 0 {
		// A lifecycle or sustained run with no setup results to add its section to.
		fmt.Fprintf(w, "# Escrow benchmark\n")
		rep.sections(w)
		return
	}
	m := rep.Machine
	fmt.Fprintf(w, "# Escrow setup benchmark\n\n")
	command := "make bench"
	if len(rep.Args) > 0 {
		command += fmt.Sprintf(" BENCH_ARGS=%q", strings.Join(rep.Args, " "))
	}
	fmt.Fprintf(w, "`%s` — %s, %d cores (%s), %s, Linux %s, %s, %s; total run %s.\n\n",
		command, m.Date, m.NProc, m.CPUModel, m.MemTotal, m.Kernel, m.GoVersion, m.WalletRPC,
		(time.Duration(rep.TotalS) * time.Second).String())
	onOff := map[bool]string{true: "on", false: "off"}
	keycache := onOff[rep.KeyCache] + "; the baseline's " + onOff[rep.BaselineKeyCache] + ": the predecessor ran stock wallet-rpc"
	poll := "the product's default"
	if rep.FundingPollS > 0 {
		poll = fmtDelay(delayOf(rep.FundingPollS))
	}
	fmt.Fprintf(w, "N setups started at once over K `monero-wallet-rpc` per system, purge delay D; every system's wallet-rpcs run with "+
		"the same flags (daemon variant %s for the script and the baseline; key cache %s). "+
		"ours: the product, whose ready escrows go on to the funding wait (first poll: %s) while the batch's other setups run; "+
		"ours-down: the same with the pool's daemon address a closed port, so every funding-wait step that needs the daemon fails and is retried; "+
		"script: direct JSON-RPC calls, wallets kept open; baseline: the predecessor. "+
		"Latency = ready − start call; throughput = N / (first start → last ready); "+
		"wallet-rpc CPU = utime+stime of the K processes over the batch, per escrow; "+
		"CPU bound = %d cores / that × 60; setup opens = open_wallet calls the setups made, all opens = every open_wallet of the worker during the batch (the funding wait's included); funding-wait steps = wallet-rpc steps of ready escrows (CheckFunding, RegisterWatch, ...) scheduled during the batch, with their attempts (retries and stand-backs for setups); "+
		"Temporal overhead = latency − (longest run of each step over the roles + purge timers), "+
		"of which lease wait = waiting for three idle instances.\n\n", firstOr(rep.Daemons, "offline"), keycache, poll, m.NProc)
	if rep.Summary != nil {
		rep.Summary.markdown(w, m.NProc)
	}

	fmt.Fprintf(w, "| system | K | D | N | p50 s | p95 s | wall s | escrows/min | wallet-rpc CPU-s/escrow | setup opens/escrow | all opens/escrow | funding-wait steps (attempts)/escrow | Temporal overhead s (lease wait) | %% of CPU bound |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, k := range rep.Ks {
		for _, ds := range rep.DelaysS {
			for _, n := range rep.Ns {
				for _, ser := range series {
					if r := rep.find(ser, Config{N: n, K: k, Delay: delayOf(ds)}); r != nil {
						resultRow(w, r)
					}
				}
			}
		}
	}

	if len(rep.Comparisons) > 0 {
		fmt.Fprintf(w, "\n**Ours / baseline and ours / script** (%s; latency below 1 and throughput above 1 favour ours):\n\n", rep.oursRef())
		fmt.Fprintf(w, "| K | D | N | p50 latency ours/baseline | throughput ours/baseline | p50 latency ours/script | throughput ours/script | ours %% of CPU bound |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, c := range rep.Comparisons {
			fmt.Fprintf(w, "| %d | %s | %d | %s | %s | %s | %s | %s |\n", c.K, fmtDelay(delayOf(c.DelayS)), c.N,
				f2z(c.LatencyP50Ratio), f2z(c.ThroughputRatio), f2z(c.ScriptP50Ratio), f2z(c.ScriptThrRatio), f1(c.OursPctOfCPUBound))
		}
	}
	if len(rep.Targets) > 0 {
		fmt.Fprintf(w, "\n**3 concurrent vs 1** (target ≤ 1.3×: wall time of the N=3 batch over the latency of one, the median one where repeated):\n\n")
		fmt.Fprintf(w, "| system | K | D | one s | three (wall) s | ratio | three p50 / one | ≤ 1.3×? |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
		for _, t := range rep.Targets {
			met := "no"
			if t.Met {
				met = "yes"
			}
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", t.System, t.K, fmtDelay(delayOf(t.DelayS)),
				f1(t.OneS), f1(t.ThreeWallS), f2(t.Ratio), f2(t.ThreeP50Rat), met)
		}
	}

	if rep.has(func(r *Result) bool { return r.Path != nil }) {
		rep.oursTable(w)
	}
	if rep.has(func(r *Result) bool { return r.Baseline != nil }) {
		rep.baselineTable(w)
	}
	if rep.has(func(r *Result) bool { return r.Script != nil }) {
		rep.scriptTable(w)
	}
	rep.warningsAndNotes(w)
	rep.sections(w)
}

// sections are the sections other modes add: full lifecycles and sustained load.
func (rep *Report) sections(w io.Writer) {
	if rep.Lifecycle != nil {
		rep.Lifecycle.markdown(w)
	}
	if rep.Sustained != nil {
		rep.Sustained.markdown(w)
	}
}

// oursTable is where ours' time goes.
func (rep *Report) oursTable(w io.Writer) {
	fmt.Fprintf(w, "\n**Where ours' time goes** (means per escrow, s): critical path = longest run of each step across roles, plus timers.\n\n")
	fmt.Fprintf(w, "| series | K | D | N | latency | create | prepare | make | exch 2 | exch 3 | verify | timers | lease wait | engine | Temporal server CPU-s | worker+client CPU-s |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Results {
		if r.System != "ours" || r.Path == nil {
			continue
		}
		p := r.Path
		fmt.Fprintf(w, "| %s | %d | %s | %d | %s |", r.Series(), r.K, fmtDelay(r.config().Delay), r.N, f1(r.MeanS))
		for _, g := range stepGroups {
			fmt.Fprintf(w, " %s |", f2(p.StepRunS[g]))
		}
		fmt.Fprintf(w, " %s | %s | %s | %s | %s |\n", f1(p.TimersS), f1(p.LeaseWaitS), f1(p.EngineS),
			f2(r.TemporalServerCPUPerEscrowS), f2(r.BenchProcessCPUPerEscrowS))
	}
}

// has reports whether any result satisfies f.
func (rep *Report) has(f func(*Result) bool) bool {
	for _, r := range rep.Results {
		if f(r) {
			return true
		}
	}
	return false
}

// baselineTable is where the baseline's time goes.
func (rep *Report) baselineTable(w io.Writer) {
	fmt.Fprintf(w, "\n**Where the baseline's time goes** (means per escrow, s; call times are wall time inside wallet-rpc calls):\n\n")
	fmt.Fprintf(w, "| K | D | N | latency | creation lock wait | instance lock wait | sleeps | create_wallet | open_wallet | close_wallet | multisig calls |\n")
	fmt.Fprintf(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Results {
		b := r.Baseline
		if b == nil {
			continue
		}
		ms := b.CallSeconds["prepare_multisig"] + b.CallSeconds["make_multisig"] + b.CallSeconds["exchange_multisig_keys"] + b.CallSeconds["is_multisig+get_address"]
		fmt.Fprintf(w, "| %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.K, fmtDelay(r.config().Delay), r.N, f1(r.MeanS),
			f1(b.CreateLockWaitS), f1(b.InstanceLockWaitS), f1(b.SleepS), f1(b.CallSeconds["create_wallet"]),
			f1(b.CallSeconds["open_wallet"]), f1(b.CallSeconds["close_wallet"]), f1(ms))
	}
}

// scriptTable is where the script's time goes.
func (rep *Report) scriptTable(w io.Writer) {
	fmt.Fprintf(w, "\n**Where the script's time goes** (means per escrow, s; per step the slowest role):\n\n")
	fmt.Fprintf(w, "| K | D | N | latency | instance wait | sleeps |")
	for _, st := range scriptSteps {
		fmt.Fprintf(w, " %s |", st)
	}
	fmt.Fprintf(w, "\n|---:|---:|---:|---:|---:|---:|%s\n", strings.Repeat("---:|", len(scriptSteps)))
	for _, r := range rep.Results {
		sc := r.Script
		if sc == nil {
			continue
		}
		fmt.Fprintf(w, "| %d | %s | %d | %s | %s | %s |", r.K, fmtDelay(r.config().Delay), r.N, f1(r.MeanS), f1(sc.InstanceWaitS), f1(sc.SleepS))
		for _, st := range scriptSteps {
			fmt.Fprintf(w, " %s |", f2(sc.StepS[st]))
		}
		fmt.Fprintf(w, "\n")
	}
}

// warningsAndNotes ends latest.md: every batch's warnings, the notes, the plots.
func (rep *Report) warningsAndNotes(w io.Writer) {
	var warned bool
	for _, r := range rep.Results {
		for _, wn := range r.Warnings {
			if !warned {
				fmt.Fprintf(w, "\n**Warnings**\n\n")
				warned = true
			}
			fmt.Fprintf(w, "- %s %s: %s\n", r.System, r.config(), wn)
		}
	}
	if len(rep.Notes) > 0 {
		fmt.Fprintf(w, "\n")
		for _, n := range rep.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
	fmt.Fprintf(w, "\n![p50 latency and throughput vs N](latest.png)\n\n![throughput and single-escrow latency vs purge delay](latest-purge.png)\n")
}

// resultRow writes one result's row of the main table.
func resultRow(w io.Writer, r *Result) {
	over := "–"
	if r.Path != nil {
		over = fmt.Sprintf("%s (%s)", f1(r.Path.TemporalOverheadS), f1(r.Path.LeaseWaitS))
	}
	all, funding := "–", "–"
	if r.System == "ours" {
		all, funding = f1(r.WorkerOpensPerEscrow), fmt.Sprintf("%s (%s)", f1(r.FundingChecksPerEscrow), f1(r.FundingAttemptsPerEscrow))
	}
	name := r.Series()
	if len(r.Repeats) > 1 {
		name += fmt.Sprintf(" (×%d, median wall %s, CPU %s)", len(r.Repeats), f1(r.MedianWallS), f1(r.MedianCPUPerEscS))
	}
	if r.Failed > 0 {
		name += fmt.Sprintf(" (%d failed)", r.Failed)
	}
	fmt.Fprintf(w, "| %s | %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
		name, r.K, fmtDelay(r.config().Delay), r.N, f1(r.P50S), f1(r.P95S), f1(r.WallS), f2(r.ThroughputPerMin),
		f1(r.WalletRPCCPUPerEsc), f1(r.OpensPerEscrow), all, funding, over, f1(r.PctOfCPUBound))
}

// stepTypes lists the funding wait's steps per type, " (CheckFunding 1.0, ...)", or "".
func stepTypes(m map[string]float64) string {
	if len(m) == 0 {
		return ""
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f", n, m[n]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// firstOr is the first element of v, or def.
func firstOr(v []string, def string) string {
	if len(v) == 0 {
		return def
	}
	return v[0]
}
