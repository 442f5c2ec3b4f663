package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LifeReport is the full-lifecycle section of latest.json (-lifecycle).
type LifeReport struct {
	// Machine and Args are the lifecycle run's own: a setup report it is added to may come
	// from another run.
	Machine Machine  `json:"machine"`
	Args    []string `json:"args"`
	Date    string   `json:"date"`
	// Kinds are the outcomes measured (release, refund); Repeat how many lifecycles of each
	// per system and key-cache variant; AfterS the after-completion window.
	Kinds   []string      `json:"kinds"`
	Repeat  int           `json:"repeat"`
	AfterS  float64       `json:"after_completion_window_s"`
	Results []*LifeResult `json:"results"`
	// Ratios are ours ÷ script per key-cache variant and outcome.
	Ratios   []LifeRatio `json:"ours_over_script"`
	Warnings []string    `json:"warnings,omitempty"`
	Notes    []string    `json:"notes"`
}

// LifeResult is one system's lifecycles of one outcome on one key-cache variant.
type LifeResult struct {
	System   string `json:"system"`
	KeyCache bool   `json:"key_cache"`
	// Kind is the outcome (release, refund; "mix" for N>1 with several); N the escrows in
	// flight at once.
	Kind string `json:"kind"`
	N    int    `json:"n"`
	// Runs are every batch measured; Phases the medians per phase, each taken on its own
	// (CPU and opens of the whole batch: per escrow at N=1).
	Runs   []LifeSample          `json:"runs"`
	Phases map[string]PhaseStats `json:"phases"`
	// WallS and CPUS are the medians of the whole lifecycle (setup to completed, the
	// after-completion window left out); DecisionToSubmittedS the median decision → payout
	// submitted.
	WallS                float64 `json:"median_wall_s"`
	CPUS                 float64 `json:"median_wallet_rpc_cpu_s"`
	DecisionToSubmittedS float64 `json:"median_decision_to_submitted_s"`
	// PayoutSteps is where decision → submitted went, step by step (medians per escrow).
	PayoutSteps *traceSummary `json:"payout_steps,omitempty"`
	// MinedToFundedS is the median of the funding phase after the payments' last confirmation
	// was mined; FundingSteps where ours' went (medians per escrow, from its history).
	MinedToFundedS float64         `json:"median_mined_to_funded_s"`
	FundingSteps   *fundingSummary `json:"funding_steps,omitempty"`
	Errors         []string        `json:"errors,omitempty"`

	traces   []payoutTrace
	fundings []fundingTrace
	calls    []rpcCalls
}

// LifeSample is one lifecycle.
type LifeSample struct {
	Phases               map[string]PhaseStats `json:"phases"`
	DecisionToSubmittedS float64               `json:"decision_to_submitted_s"`
	MinedToFundedS       float64               `json:"mined_to_funded_s"`
	// ForeignCPUS is the CPU other processes used meanwhile.
	ForeignCPUS float64 `json:"foreign_cpu_s"`
}

// PhaseStats is one phase: wall time, wallet-rpc CPU (summed over the system's wallet-rpcs)
// and open_wallet calls (ours: the worker's counters; the script makes none).
type PhaseStats struct {
	WallS float64 `json:"wall_s"`
	CPUS  float64 `json:"wallet_rpc_cpu_s"`
	Opens float64 `json:"open_wallet"`
}

// LifeRatio is ours ÷ script for one key-cache variant, outcome and N (0: not measured).
type LifeRatio struct {
	KeyCache            bool    `json:"key_cache"`
	Kind                string  `json:"kind"`
	N                   int     `json:"n"`
	Wall                float64 `json:"wall"`
	CPU                 float64 `json:"wallet_rpc_cpu"`
	DecisionToSubmitted float64 `json:"decision_to_submitted"`
}

// add records one lifecycle.
func (r *LifeResult) add(run lifeRun, foreignCPU time.Duration) {
	s := LifeSample{Phases: map[string]PhaseStats{}, DecisionToSubmittedS: run.decisionToSubmitted.Seconds(), MinedToFundedS: run.minedToFunded.Seconds(), ForeignCPUS: foreignCPU.Seconds()}
	for name, p := range run.phases {
		s.Phases[name] = PhaseStats{WallS: p.wall.Seconds(), CPUS: p.cpu.Seconds(), Opens: float64(p.opens)}
	}
	r.Runs = append(r.Runs, s)
	r.traces = append(r.traces, run.traces...)
	r.fundings = append(r.fundings, run.fundings...)
	if run.calls != nil {
		r.calls = append(r.calls, run.calls)
	}
}

// finish takes the medians over the runs.
func (r *LifeResult) finish() {
	if len(r.Runs) == 0 {
		return
	}
	r.Phases = map[string]PhaseStats{}
	for _, name := range lifePhases {
		var wall, cpu, opens []float64
		for _, s := range r.Runs {
			p := s.Phases[name]
			wall, cpu, opens = append(wall, p.WallS), append(cpu, p.CPUS), append(opens, p.Opens)
		}
		r.Phases[name] = PhaseStats{WallS: median(wall), CPUS: median(cpu), Opens: median(opens)}
	}
	var wall, cpu, d2s, m2f []float64
	for _, s := range r.Runs {
		var w, c float64
		for _, name := range lifePhases[:3] {
			w, c = w+s.Phases[name].WallS, c+s.Phases[name].CPUS
		}
		wall, cpu, d2s, m2f = append(wall, w), append(cpu, c), append(d2s, s.DecisionToSubmittedS), append(m2f, s.MinedToFundedS)
	}
	r.WallS, r.CPUS, r.DecisionToSubmittedS, r.MinedToFundedS = median(wall), median(cpu), median(d2s), median(m2f)
	r.FundingSteps = summarizeFunding(r.fundings)
	if len(r.traces) > 0 {
		steps := summarize(r.traces, r.calls)
		r.PayoutSteps = &steps
	}
}

// find returns the measured result of system with the key of ref (variant, outcome, N), or nil.
func (lr *LifeReport) find(system string, ref *LifeResult) *LifeResult {
	for _, r := range lr.Results {
		if r.System == system && r.KeyCache == ref.KeyCache && r.Kind == ref.Kind && r.N == ref.N && len(r.Runs) > 0 {
			return r
		}
	}
	return nil
}

// derive computes ours ÷ script and the warnings: ours' payout should open no wallet, since
// with one escrow in flight on three instances each instance still holds the wallet its setup
// left open there (the script shows the payout needs none).
func (lr *LifeReport) derive() {
	lr.Ratios, lr.Warnings = nil, nil
	for _, o := range lr.Results {
		if o.System != "ours" {
			continue
		}
		for i, run := range o.Runs {
			if n := run.Phases[phasePayout].Opens; n > 0 {
				lr.Warnings = append(lr.Warnings, fmt.Sprintf("WARNING: ours' payout (%s, N=%d, key cache %t, run %d) made %.0f open_wallet calls although, 3 instances per escrow in flight, the signers' wallets were open from the setup",
					o.Kind, o.N, o.KeyCache, i+1, n))
			}
		}
		s := lr.find("script", o)
		if len(o.Runs) == 0 || s == nil {
			continue
		}
		lr.Ratios = append(lr.Ratios, LifeRatio{KeyCache: o.KeyCache, Kind: o.Kind, N: o.N, Wall: ratio(o.WallS, s.WallS), CPU: ratio(o.CPUS, s.CPUS),
			DecisionToSubmitted: ratio(o.DecisionToSubmittedS, s.DecisionToSubmittedS)})
	}
	for _, r := range lr.Results {
		for i, run := range r.Runs {
			// As measure does for setups: a run next to other work (a test suite, say) is
			// flagged, though, unlike there, not measured again.
			var wall float64
			for _, p := range run.Phases {
				wall += p.WallS
			}
			if share := run.ForeignCPUS / (float64(max(lr.Machine.NProc, 1)) * wall); wall > 0 && share > contaminated/2 {
				lr.Warnings = append(lr.Warnings, fmt.Sprintf("%s (key cache %t, %s, N=%d) run %d: other processes used %.0f CPU-s (%.0f%% of the machine)",
					r.System, r.KeyCache, r.Kind, r.N, i+1, run.ForeignCPUS, 100*share))
			}
		}
		for _, e := range r.Errors {
			lr.Warnings = append(lr.Warnings, fmt.Sprintf("%s (key cache %t, %s, N=%d) failed: %s", r.System, r.KeyCache, r.Kind, r.N, e))
		}
	}
}

// markdown writes the section latest.md ends with.
func (lr *LifeReport) markdown(w io.Writer) {
	fmt.Fprintf(w, "\n## Full lifecycles\n\n")
	m := lr.Machine
	fmt.Fprintf(w, "`make bench BENCH_ARGS=%q` — %s, %d cores (%s), %s, %s.\n\n", strings.Join(lr.Args, " "), lr.Date, m.NProc, m.CPUModel, m.GoVersion, m.WalletRPC)
	fmt.Fprintf(w, "Whole escrows on a regtest chain, order → Ready → paid → funded → decision → payout submitted → "+
		"payout confirmed → %s, N at once (N=1: one at a time; N>1: phase by phase, the outcomes in turn) on 3 wallet-rpcs per escrow in flight per system, %d batches per outcome, N, system and key-cache variant, the systems taking turns; medians. "+
		"Phases: setup = start → Ready; funding = pay + 11 blocks → funded; payout = decision → completed (11 blocks mined after the submit); "+
		"after = a %s window after completion (ours' late-money polls held off at 1h). "+
		"CPU = wallet-rpc utime+stime summed over the system's processes, for the whole batch; opens = open_wallet calls (ours: the worker's counters; the script makes none). "+
		"Whole = setup + funding + payout; decision → submitted is until the batch's last payout is submitted (ours: per escrow, from its history).\n\n",
		joinKinds(lr.Kinds), lr.Repeat, fmtDelay(delayOf(lr.AfterS)))
	fmt.Fprintf(w, "| system | key cache | outcome | N | runs | setup s / CPU-s / opens | funding s / CPU-s / opens | payout s / CPU-s / opens | after s / CPU-s / opens | decision → submitted s | whole s | whole CPU-s |\n")
	fmt.Fprintf(w, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range lr.Results {
		fmt.Fprintf(w, "| %s | %t | %s | %d | %d |", r.System, r.KeyCache, r.Kind, r.N, len(r.Runs))
		if len(r.Runs) == 0 {
			fmt.Fprintf(w, " – | – | – | – | – | – | – |\n")
			continue
		}
		for _, name := range lifePhases {
			p := r.Phases[name]
			fmt.Fprintf(w, " %s / %s / %.0f |", f1(p.WallS), f2(p.CPUS), p.Opens)
		}
		fmt.Fprintf(w, " %s | %s | %s |\n", f1(r.DecisionToSubmittedS), f1(r.WallS), f2(r.CPUS))
	}
	if len(lr.Ratios) > 0 {
		fmt.Fprintf(w, "\n**Ours ÷ script** (whole lifecycle; below 1 favours ours):\n\n| key cache | outcome | N | wall | wallet-rpc CPU | decision → submitted |\n|---|---|---:|---:|---:|---:|\n")
		for _, q := range lr.Ratios {
			fmt.Fprintf(w, "| %t | %s | %d | %s | %s | %s |\n", q.KeyCache, q.Kind, q.N, f2z(q.Wall), f2z(q.CPU), f2z(q.DecisionToSubmitted))
		}
	}
	lr.stepsMarkdown(w)
	lr.fundingMarkdown(w)
	if len(lr.Warnings) > 0 {
		fmt.Fprintf(w, "\n")
		for _, wn := range lr.Warnings {
			fmt.Fprintf(w, "- %s\n", wn)
		}
	}
	fmt.Fprintf(w, "\n")
	for _, n := range lr.Notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
}

// stepsMarkdown writes where decision → submitted went, per system and variant.
func (lr *LifeReport) stepsMarkdown(w io.Writer) {
	fmt.Fprintf(w, "\n**Decision → submitted, step by step** (medians per escrow; ours from the workflow history's timestamps: "+
		"gap = the workflow task between one activity's completion, or the decision, and the next one's scheduling, queue = scheduled → started, run = started → completed; "+
		"the script: each call's wall time):\n\n")
	fmt.Fprintf(w, "| system | key cache | outcome | N | total s | gaps s | queue s | run s | steps: run s (gap s) |\n|---|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, r := range lr.Results {
		t := r.PayoutSteps
		if t == nil {
			continue
		}
		var steps []string
		for _, st := range t.Steps {
			one := fmt.Sprintf("%s%s %.2f", st.Activity, times(st.Count), st.RunS)
			if r.System == "ours" {
				one += fmt.Sprintf(" (%.2f)", st.GapS)
			}
			steps = append(steps, one)
		}
		fmt.Fprintf(w, "| %s | %t | %s | %d | %.2f | %.2f | %.2f | %.2f | %s |\n", r.System, r.KeyCache, r.Kind, r.N, t.Total, t.Gaps, t.Queue, t.Run, strings.Join(steps, ", "))
	}
	for _, r := range lr.Results {
		if t := r.PayoutSteps; t != nil && len(t.Calls) > 0 {
			fmt.Fprintf(w, "\nOurs' wallet-rpc calls from the decision to the payout submitted, per escrow (key cache %t, %s, N=%d): %s.\n", r.KeyCache, r.Kind, r.N, t.Calls)
		}
	}
}

// fundingMarkdown writes how long each system took to see the payments funded once their
// last confirmation was mined, and where ours' time went.
func (lr *LifeReport) fundingMarkdown(w io.Writer) {
	fmt.Fprintf(w, "\n**Mined → funded** (the funding phase less the pay and the 11 blocks, which both systems share; medians; "+
		"ours from the workflow history: the watcher's sightings, the funding checks and FundingPoll timers after the last block, until the status funded):\n\n")
	fmt.Fprintf(w, "| system | key cache | outcome | N | mined → seen funded s | ours: mined → funded, from the history |\n|---|---|---|---:|---:|---|\n")
	for _, r := range lr.Results {
		if len(r.Runs) == 0 {
			continue
		}
		detail := "–"
		if r.FundingSteps != nil {
			detail = r.FundingSteps.String()
		}
		fmt.Fprintf(w, "| %s | %t | %s | %d | %.2f | %s |\n", r.System, r.KeyCache, r.Kind, r.N, r.MinedToFundedS, detail)
	}
}

// times marks a step that ran more than once in a payout.
func times(n int) string {
	if n > 1 {
		return fmt.Sprintf(" ×%d", n)
	}
	return ""
}

// print logs the section's table and ratios after a lifecycle run.
func (lr *LifeReport) print() {
	for _, r := range lr.Results {
		if len(r.Runs) == 0 {
			logf("lifecycle %-6s key cache %-5t %-7s N=%d no run completed", r.System, r.KeyCache, r.Kind, r.N)
			continue
		}
		line := fmt.Sprintf("lifecycle %-6s key cache %-5t %-7s N=%d", r.System, r.KeyCache, r.Kind, r.N)
		for _, name := range lifePhases {
			p := r.Phases[name]
			line += fmt.Sprintf("  %s %.1fs %.2f CPU-s %.0f opens", name, p.WallS, p.CPUS, p.Opens)
		}
		logf("%s  decision→submitted %.1fs  whole %.1fs %.2f CPU-s (medians of %d)", line, r.DecisionToSubmittedS, r.WallS, r.CPUS, len(r.Runs))
		logf("  mined → seen funded %.2fs", r.MinedToFundedS)
		if f := r.FundingSteps; f != nil {
			logf("  mined → funded (history) %s", f)
		}
		if t := r.PayoutSteps; t != nil {
			logf("  decision→submitted %.2fs: gaps %.2fs, queue %.2fs, run %.2fs", t.Total, t.Gaps, t.Queue, t.Run)
			for _, st := range t.Steps {
				logf("    %-28s ×%d gap %.3fs queue %.3fs run %.3fs", st.Activity, st.Count, st.GapS, st.QueueS, st.RunS)
			}
			if len(t.Calls) > 0 {
				logf("    wallet-rpc calls: %s", t.Calls)
			}
		}
	}
	for _, q := range lr.Ratios {
		logf("lifecycle ours ÷ script, key cache %t, %s, N=%d: wall %s, wallet-rpc CPU %s, decision → submitted %s", q.KeyCache, q.Kind, q.N, f2z(q.Wall), f2z(q.CPU), f2z(q.DecisionToSubmitted))
	}
	for _, wn := range lr.Warnings {
		logf("%s", wn)
	}
}

func joinKinds(kinds []string) string {
	out := ""
	for i, k := range kinds {
		if i > 0 {
			out += " or "
		}
		out += map[string]string{kindRelease: "completed", kindRefund: "refunded"}[k]
	}
	return out
}

// lifeNotes say how the lifecycle mode measures, for the report.
func lifeNotes() []string {
	return []string{
		"lifecycle ours: the product on the local stack (3 supervised wallet-rpcs per escrow in flight, no growth) on the benchmark's regtest chain, polls every 200 ms like the script's (the escrow's funding and payout polls, the block watcher's, the benchmark's queries of the escrow's state), late-money polls held off (LatePoll 1h); decision → submitted from the workflow history (the decision update accepted → SubmitPayout completed); release = confirm-receipt by the buyer, refund = agree-refund by the vendor; the escrow is terminated after the after-completion window.",
		"lifecycle script: script.go's setup, escrow j of a batch on instances 3j..3j+2, then the chain pays the multisig address and mines 11 blocks, both signers refresh until the funds are unlocked, export_multisig_info on both, each imports the other's, the first builds one transfer of its unlocked balance to the payee with the fee subtracted from it, the second signs and submits, 11 blocks, the submitter refreshes until 10 confirmations. No open_wallet, no describe_transfer, no store.",
		"lifecycle both: wallet-rpcs with the same flags per key-cache variant; the chain's own monerod and funder wallet-rpc are not counted in either system's CPU; one warm-up setup per system and variant is not measured.",
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
