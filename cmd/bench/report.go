package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// progress prints one line per measured configuration.
func progress(r *Result) {
	line := fmt.Sprintf("%-8s %-16s p50 %6.1fs  p95 %6.1fs  wall %6.1fs  %5.2f/min  wallet-rpc %5.1f CPU-s/escrow  %4.1f opens/escrow",
		r.System, r.config(), r.P50S, r.P95S, r.WallS, r.ThroughputPerMin, r.WalletRPCCPUPerEsc, r.OpensPerEscrow)
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

// write saves latest.json, latest.md and latest.png under dir.
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
	return rep.plot(filepath.Join(dir, "latest.png"))
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
	m := rep.Machine
	fmt.Fprintf(w, "# Escrow setup benchmark\n\n")
	command := "make bench"
	if len(rep.Args) > 0 {
		command += fmt.Sprintf(" BENCH_ARGS=%q", strings.Join(rep.Args, " "))
	}
	fmt.Fprintf(w, "`%s` — %s, %d cores (%s), %s, Linux %s, %s, %s; total run %s.\n\n",
		command, m.Date, m.NProc, m.CPUModel, m.MemTotal, m.Kernel, m.GoVersion, m.WalletRPC,
		(time.Duration(rep.TotalS) * time.Second).String())
	fmt.Fprintf(w, "N setups started at once over K `monero-wallet-rpc --offline`, purge delay D. "+
		"Latency = ready − start call; throughput = N / (first start → last ready); "+
		"wallet-rpc CPU = utime+stime of the K processes over the batch, per escrow; "+
		"CPU bound = %d cores / that × 60; Temporal overhead = latency − (longest run of each step over the roles + purge timers), "+
		"of which lease wait = waiting for three idle instances.\n\n", m.NProc)

	fmt.Fprintf(w, "| system | K | D | N | p50 s | p95 s | wall s | escrows/min | wallet-rpc CPU-s/escrow | open_wallet/escrow | Temporal overhead s (lease wait) | %% of CPU bound |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Results {
		over := "–"
		if r.Path != nil {
			over = fmt.Sprintf("%s (%s)", f1(r.Path.TemporalOverheadS), f1(r.Path.LeaseWaitS))
		}
		fail := ""
		if r.Failed > 0 {
			fail = fmt.Sprintf(" (%d failed)", r.Failed)
		}
		fmt.Fprintf(w, "| %s%s | %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.System, fail, r.K, fmtDelay(r.config().Delay), r.N, f1(r.P50S), f1(r.P95S), f1(r.WallS), f2(r.ThroughputPerMin),
			f1(r.WalletRPCCPUPerEsc), f1(r.OpensPerEscrow), over, f1(r.PctOfCPUBound))
	}

	if len(rep.Comparisons) > 0 {
		fmt.Fprintf(w, "\n**Ours / baseline** (latency below 1 and throughput above 1 favour ours):\n\n")
		fmt.Fprintf(w, "| K | D | N | p50 latency ours/baseline | throughput ours/baseline | ours %% of CPU bound |\n|---:|---:|---:|---:|---:|---:|\n")
		for _, c := range rep.Comparisons {
			fmt.Fprintf(w, "| %d | %s | %d | %s | %s | %s |\n", c.K, fmtDelay(time.Duration(c.DelayS*float64(time.Second))), c.N,
				f2(c.LatencyP50Ratio), f2(c.ThroughputRatio), f1(c.OursPctOfCPUBound))
		}
	}
	if len(rep.Targets) > 0 {
		fmt.Fprintf(w, "\n**3 concurrent vs 1** (target ≤ 1.3×: wall time of the N=3 batch over the latency of one):\n\n")
		fmt.Fprintf(w, "| system | K | D | one s | three (wall) s | ratio | three p50 / one | ≤ 1.3×? |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
		for _, t := range rep.Targets {
			met := "no"
			if t.Met {
				met = "yes"
			}
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", t.System, t.K, fmtDelay(time.Duration(t.DelayS*float64(time.Second))),
				f1(t.OneS), f1(t.ThreeWallS), f2(t.Ratio), f2(t.ThreeP50Rat), met)
		}
	}

	fmt.Fprintf(w, "\n**Where ours' time goes** (means per escrow, s): critical path = longest run of each step across roles, plus timers.\n\n")
	fmt.Fprintf(w, "| K | D | N | latency | create | prepare | make | exch 2 | exch 3 | verify | timers | lease wait | engine | Temporal server CPU-s | worker+client CPU-s |\n")
	fmt.Fprintf(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Results {
		if r.System != "ours" || r.Path == nil {
			continue
		}
		p := r.Path
		fmt.Fprintf(w, "| %d | %s | %d | %s |", r.K, fmtDelay(r.config().Delay), r.N, f1(r.MeanS))
		for _, g := range stepGroups {
			fmt.Fprintf(w, " %s |", f2(p.StepRunS[g]))
		}
		fmt.Fprintf(w, " %s | %s | %s | %s | %s |\n", f1(p.TimersS), f1(p.LeaseWaitS), f1(p.EngineS),
			f2(r.TemporalServerCPUPerEscrowS), f2(r.BenchProcessCPUPerEscrowS))
	}
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
	fmt.Fprintf(w, "\n![p50 latency and throughput vs N](latest.png)\n")
}
