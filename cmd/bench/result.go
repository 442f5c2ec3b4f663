package main

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"time"
)

// Config is one point of the matrix: N concurrent setups over K wallet-rpcs, purge delay D.
type Config struct {
	N, K  int
	Delay time.Duration
}

// String is the Config as progress lines and tables show it.
func (c Config) String() string {
	return fmt.Sprintf("K=%d D=%s N=%d", c.K, fmtDelay(c.Delay), c.N)
}

func fmtDelay(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	return d.String()
}

// Result is one system's numbers for one Config.
type Result struct {
	System string `json:"system"` // "ours", "script" or "baseline"
	// Daemon is the daemon variant the wallet-rpcs pointed at (daemonUp, daemonDown; empty
	// in reports from before the variants: --offline).
	Daemon string  `json:"daemon,omitempty"`
	K      int     `json:"k"`
	N      int     `json:"n"`
	DelayS float64 `json:"delay_s"`

	Completed  int       `json:"completed"`
	Failed     int       `json:"failed"`
	Errors     []string  `json:"errors,omitempty"`
	LatenciesS []float64 `json:"latencies_s"`
	P50S       float64   `json:"latency_p50_s"`
	P95S       float64   `json:"latency_p95_s"`
	MeanS      float64   `json:"latency_mean_s"`
	// WallS is first start call → last escrow ready.
	WallS float64 `json:"wall_s"`
	// ThroughputPerMin is N / WallS × 60.
	ThroughputPerMin float64 `json:"throughput_per_min"`
	// SustainedPerMin is the rate at which escrows became ready once the first was:
	// (N − 1) / (last ready − first ready) × 60, with every escrow started at once. It
	// leaves out the one setup's latency that a batch pays before its first escrow is
	// ready (the purge timers' included), which a steady stream of orders never pays again;
	// N / WallS for N = 1.
	SustainedPerMin float64 `json:"sustained_per_min"`
	// WalletRPCCPUS is the utime+stime the K wallet-rpc processes spent during the batch.
	WalletRPCCPUS      float64 `json:"wallet_rpc_cpu_s"`
	WalletRPCCPUPerEsc float64 `json:"wallet_rpc_cpu_s_per_escrow"`
	// OpensPerEscrow counts the open_wallet calls of the setups (ours: each escrow's
	// State.WalletOpens at Ready, so only opens that a setup itself needed).
	OpensPerEscrow float64 `json:"open_wallet_per_escrow"`
	// WorkerOpensPerEscrow counts every open_wallet the worker made during the batch, the
	// funding checks' included (ours only).
	WorkerOpensPerEscrow float64 `json:"worker_open_wallet_per_escrow"`
	// FundingChecksPerEscrow counts the wallet-rpc steps of the funding wait (CheckFunding,
	// RegisterWatch, ...: every step on an instance's queue after Ready) that ready escrows
	// scheduled during the batch, FundingStepsPerEscrow per activity type, and
	// FundingAttemptsPerEscrow their attempts, retries and stand-backs included (ours only).
	FundingChecksPerEscrow   float64            `json:"funding_steps_per_escrow,omitempty"`
	FundingStepsPerEscrow    map[string]float64 `json:"funding_steps_by_type_per_escrow,omitempty"`
	FundingAttemptsPerEscrow float64            `json:"funding_attempts_per_escrow,omitempty"`
	// CPUBoundPerMin is NumCPU / WalletRPCCPUPerEsc × 60: the escrows per minute the
	// cores allow at this CPU cost; PctOfCPUBound is the throughput as a share of it.
	CPUBoundPerMin float64 `json:"cpu_bound_per_min"`
	PctOfCPUBound  float64 `json:"pct_of_cpu_bound"`

	// Ours only: the latency split from each escrow's timeline (means over the batch).
	Path *PathMeans `json:"path,omitempty"`
	// Ours only: CPU of the engine around the wallet-rpcs, per escrow.
	TemporalServerCPUPerEscrowS float64 `json:"temporal_server_cpu_s_per_escrow,omitempty"`
	BenchProcessCPUPerEscrowS   float64 `json:"worker_and_client_cpu_s_per_escrow,omitempty"`

	// Baseline only: where its time went (means per escrow).
	Baseline *BaselineBreakdown `json:"baseline,omitempty"`
	// Script only: where its time went (means per escrow).
	Script *ScriptBreakdown `json:"script,omitempty"`

	// Repeats are the runs of a batch measured more than once (-repeat, N=1 only); the
	// other fields are those of the run with the median wall time, and the medians of wall
	// time and CPU are taken over all runs, each on its own.
	Repeats          []Sample `json:"repeats,omitempty"`
	MedianWallS      float64  `json:"median_wall_s,omitempty"`
	MedianCPUPerEscS float64  `json:"median_wallet_rpc_cpu_s_per_escrow,omitempty"`

	// ForeignCPUS is the CPU time other processes on the machine used during the batch
	// (-1: unknown); QuietWaitS is how long the batch waited for the machine to be quiet.
	ForeignCPUS float64 `json:"foreign_cpu_s"`
	QuietWaitS  float64 `json:"quiet_wait_s"`

	Warnings []string `json:"warnings,omitempty"`
}

// PathMeans are the means of pathBreakdown over a batch, in seconds.
type PathMeans struct {
	// TemporalOverheadS is latency − (the longest run of each step group + purge timers).
	TemporalOverheadS float64 `json:"temporal_overhead_s"`
	// LeaseWaitS is workflow start → first CreateWallet scheduled (part of the overhead).
	LeaseWaitS float64 `json:"lease_wait_s"`
	// EngineS is the overhead without the lease wait: start RPC, workflow tasks, activity
	// dispatch, status polling.
	EngineS float64 `json:"engine_s"`
	// QueueWaitS sums the longest schedule-to-start of each step group (part of EngineS).
	QueueWaitS float64            `json:"queue_wait_s"`
	CriticalS  float64            `json:"critical_path_s"`
	TimersS    float64            `json:"purge_timers_s"`
	StepRunS   map[string]float64 `json:"step_run_s"`
}

// BaselineBreakdown is where a baseline escrow's time went, per escrow (means).
type BaselineBreakdown struct {
	CallSeconds       map[string]float64 `json:"call_s"`
	CreateLockWaitS   float64            `json:"create_lock_wait_s"`
	InstanceLockWaitS float64            `json:"instance_lock_wait_s"`
	SleepS            float64            `json:"sleep_s"`
}

// ScriptBreakdown is where a script escrow's time went, per escrow (means).
type ScriptBreakdown struct {
	// StepS is, per step (scriptSteps), the slowest role's time.
	StepS         map[string]float64 `json:"step_s"`
	InstanceWaitS float64            `json:"instance_wait_s"`
	SleepS        float64            `json:"sleep_s"`
}

// Sample is one run of a repeated batch.
type Sample struct {
	WallS      float64 `json:"wall_s"`
	CPUPerEscS float64 `json:"wallet_rpc_cpu_s_per_escrow"`
	Opens      float64 `json:"open_wallet_per_escrow"`
}

// Series names what a result's line is: the system, and for ours with the daemon down
// "ours-down" (the two variants run on two stacks and are compared with each other).
func (r *Result) Series() string {
	if r.System == "ours" && r.Daemon == daemonDown {
		return "ours-down"
	}
	return r.System
}

// series are all the lines a report can hold, in the order tables list them.
var series = []string{"ours", "ours-down", "script", "baseline"}

// wallMedian and cpuMedian are the medians over the repeats, or the single run's values.
func (r *Result) wallMedian() float64 {
	if r.MedianWallS > 0 {
		return r.MedianWallS
	}
	return r.WallS
}

func (r *Result) cpuMedian() float64 {
	if r.MedianCPUPerEscS > 0 {
		return r.MedianCPUPerEscS
	}
	return r.WalletRPCCPUPerEsc
}

func newResult(system string, cfg Config) *Result {
	return &Result{System: system, K: cfg.K, N: cfg.N, DelayS: cfg.Delay.Seconds()}
}

func (r *Result) config() Config {
	return Config{N: r.N, K: r.K, Delay: time.Duration(r.DelayS * float64(time.Second))}
}

func (r *Result) fail(err error) {
	r.Failed++
	if len(r.Errors) < 5 {
		r.Errors = append(r.Errors, err.Error())
	}
}

// setLatencies records the completed escrows' latencies and the throughput.
func (r *Result) setLatencies(lat []float64) {
	sort.Float64s(lat)
	r.LatenciesS, r.Completed = lat, len(lat)
	r.P50S, r.P95S = percentile(lat, 50), percentile(lat, 95)
	for _, v := range lat {
		r.MeanS += v / float64(len(lat))
	}
	if r.WallS > 0 {
		r.ThroughputPerMin = float64(r.Completed) / r.WallS * 60
		r.SustainedPerMin = r.ThroughputPerMin
	}
	if n := len(lat); n >= 2 && lat[n-1] > lat[0] {
		r.SustainedPerMin = float64(n-1) / (lat[n-1] - lat[0]) * 60
	}
}

// setCPU records the wallet-rpc CPU of the batch and the CPU bound it implies.
func (r *Result) setCPU(cpu time.Duration, n int) {
	r.WalletRPCCPUS = cpu.Seconds()
	r.WalletRPCCPUPerEsc = cpu.Seconds() / float64(n)
	if r.WalletRPCCPUPerEsc > 0 {
		r.CPUBoundPerMin = float64(runtime.NumCPU()) / r.WalletRPCCPUPerEsc * 60
		r.PctOfCPUBound = 100 * r.ThroughputPerMin / r.CPUBoundPerMin
	}
}

// setPaths records the means of the batch's latency splits.
func (r *Result) setPaths(ps []pathBreakdown) {
	if len(ps) == 0 {
		return
	}
	m := &PathMeans{StepRunS: map[string]float64{}}
	n := float64(len(ps))
	for _, p := range ps {
		m.TemporalOverheadS += p.Overhead.Seconds() / n
		m.LeaseWaitS += p.LeaseWait.Seconds() / n
		m.QueueWaitS += p.QueueWait.Seconds() / n
		m.CriticalS += p.Critical.Seconds() / n
		m.TimersS += p.Timers.Seconds() / n
		for g, d := range p.StepRun {
			m.StepRunS[g] += d.Seconds() / n
		}
	}
	m.EngineS = m.TemporalOverheadS - m.LeaseWaitS
	r.Path = m
}

// percentile is the nearest-rank percentile of sorted values (0 when empty: JSON has no
// NaN).
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

// Comparison is ours against the script and the baseline for one Config (a ratio is 0 when
// the other system was not measured there).
type Comparison struct {
	K                 int     `json:"k"`
	N                 int     `json:"n"`
	DelayS            float64 `json:"delay_s"`
	LatencyP50Ratio   float64 `json:"latency_p50_ours_over_baseline"`
	ThroughputRatio   float64 `json:"throughput_ours_over_baseline"`
	ScriptP50Ratio    float64 `json:"latency_p50_ours_over_script"`
	ScriptThrRatio    float64 `json:"throughput_ours_over_script"`
	OursPctOfCPUBound float64 `json:"ours_pct_of_cpu_bound"`
}

// Target is the "3 concurrent escrows finish in ≤ 1.3× the time of one" for one
// K and D: the wall time of the N=3 batch over the latency of the N=1 batch.
type Target struct {
	K           int     `json:"k"`
	DelayS      float64 `json:"delay_s"`
	System      string  `json:"system"`
	OneS        float64 `json:"one_latency_s"`
	ThreeWallS  float64 `json:"three_wall_s"`
	Ratio       float64 `json:"ratio"`
	Met         bool    `json:"met"`
	ThreeP50S   float64 `json:"three_p50_s"`
	ThreeP50Rat float64 `json:"three_p50_ratio"`
}

// Report is everything latest.json holds.
type Report struct {
	Machine Machine   `json:"machine"`
	Args    []string  `json:"args"`
	Ns      []int     `json:"n"`
	Ks      []int     `json:"k"`
	DelaysS []float64 `json:"delays_s"`
	// Daemons are the daemon variants ours ran with; the script and the baseline ran with
	// the first one's wallet-rpc flags.
	Daemons []string `json:"daemons,omitempty"`
	// KeyCache is -keycache: whether ours' and the script's wallet-rpcs ran with the key
	// cache; BaselineKeyCache is -baseline-keycache, the baseline's.
	KeyCache         bool `json:"key_cache"`
	BaselineKeyCache bool `json:"baseline_key_cache"`
	// FundingPollS is -funding-poll (0: the product's default).
	FundingPollS float64 `json:"funding_poll_s"`
	// Repeat is how often each single-escrow batch of ours and the script ran.
	Repeat      int          `json:"repeat,omitempty"`
	Results     []*Result    `json:"results"`
	Comparisons []Comparison `json:"comparisons"`
	Targets     []Target     `json:"targets_three_vs_one"`
	Summary     *Summary     `json:"summary,omitempty"`
	TotalS      float64      `json:"total_runtime_s"`
	// Lifecycle is the full-lifecycle section (-lifecycle); a setup run keeps the one its
	// latest.json had, and a lifecycle run keeps the setup results.
	Lifecycle *LifeReport `json:"lifecycle,omitempty"`
	// Sustained is the sustained-load section (-sustained), kept the same way.
	Sustained *SusReport `json:"sustained,omitempty"`
	Notes     []string   `json:"notes"`
}

// find returns the result of one series (Result.Series) for c, or nil.
func (rep *Report) find(ser string, c Config) *Result {
	for _, r := range rep.Results {
		if r.Series() == ser && r.config() == c {
			return r
		}
	}
	return nil
}

// ok reports whether r was measured and completed at least one escrow.
func ok(r *Result) bool { return r != nil && r.Completed > 0 }

// ratio is a/b, or 0 when either is missing.
func ratio(a, b float64) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return a / b
}

// delayOf turns a report's delay in seconds back into a Duration.
func delayOf(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// derive fills the comparisons, targets and summary from the results.
func (rep *Report) derive() {
	rep.Comparisons, rep.Targets = nil, nil
	ref := rep.oursRef()
	for _, k := range rep.Ks {
		for _, ds := range rep.DelaysS {
			d := delayOf(ds)
			for _, n := range rep.Ns {
				c := Config{N: n, K: k, Delay: d}
				o, b, sc := rep.find(ref, c), rep.find("baseline", c), rep.find("script", c)
				if !ok(o) || (!ok(b) && !ok(sc)) {
					continue
				}
				cmp := Comparison{K: k, N: n, DelayS: ds, OursPctOfCPUBound: o.PctOfCPUBound}
				if ok(b) {
					cmp.LatencyP50Ratio, cmp.ThroughputRatio = ratio(o.P50S, b.P50S), ratio(o.ThroughputPerMin, b.ThroughputPerMin)
				}
				if ok(sc) {
					cmp.ScriptP50Ratio, cmp.ScriptThrRatio = ratio(o.P50S, sc.P50S), ratio(o.ThroughputPerMin, sc.ThroughputPerMin)
				}
				rep.Comparisons = append(rep.Comparisons, cmp)
			}
			for _, sys := range series {
				one, three := rep.find(sys, Config{N: 1, K: k, Delay: d}), rep.find(sys, Config{N: 3, K: k, Delay: d})
				if !ok(one) || three == nil || three.Completed < 3 {
					continue
				}
				t := Target{K: k, DelayS: ds, System: sys, OneS: one.wallMedian(), ThreeWallS: three.WallS, ThreeP50S: three.P50S}
				t.Ratio, t.ThreeP50Rat = t.ThreeWallS/t.OneS, t.ThreeP50S/t.OneS
				t.Met = t.Ratio <= 1.3
				rep.Targets = append(rep.Targets, t)
			}
		}
	}
	rep.Summary = rep.summarize()
	if rep.Lifecycle != nil {
		rep.Lifecycle.derive()
	}
}

// oursRef is the series of ours the other systems are compared with: the first daemon
// variant's (the script and the baseline ran with its wallet-rpc flags).
func (rep *Report) oursRef() string {
	if len(rep.Daemons) > 0 && rep.Daemons[0] == daemonDown {
		return "ours-down"
	}
	return "ours"
}
