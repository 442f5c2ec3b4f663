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
	System string  `json:"system"` // "ours" or "baseline"
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
	// WalletRPCCPUS is the utime+stime the K wallet-rpc processes spent during the batch.
	WalletRPCCPUS        float64 `json:"wallet_rpc_cpu_s"`
	WalletRPCCPUPerEsc   float64 `json:"wallet_rpc_cpu_s_per_escrow"`
	OpensPerEscrow       float64 `json:"open_wallet_per_escrow"`
	WorkerOpensPerEscrow float64 `json:"worker_open_wallet_per_escrow"`
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

// Comparison is ours against the baseline for one Config.
type Comparison struct {
	K                 int     `json:"k"`
	N                 int     `json:"n"`
	DelayS            float64 `json:"delay_s"`
	LatencyP50Ratio   float64 `json:"latency_p50_ours_over_baseline"`
	ThroughputRatio   float64 `json:"throughput_ours_over_baseline"`
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
	Machine     Machine      `json:"machine"`
	Args        []string     `json:"args"`
	Ns          []int        `json:"n"`
	Ks          []int        `json:"k"`
	DelaysS     []float64    `json:"delays_s"`
	Results     []*Result    `json:"results"`
	Comparisons []Comparison `json:"comparisons"`
	Targets     []Target     `json:"targets_three_vs_one"`
	TotalS      float64      `json:"total_runtime_s"`
	Notes       []string     `json:"notes"`
}

func (rep *Report) find(system string, c Config) *Result {
	for _, r := range rep.Results {
		if r.System == system && r.config() == c {
			return r
		}
	}
	return nil
}

// derive fills the comparisons and targets from the results.
func (rep *Report) derive() {
	rep.Comparisons, rep.Targets = nil, nil
	for _, k := range rep.Ks {
		for _, ds := range rep.DelaysS {
			d := time.Duration(ds * float64(time.Second))
			for _, n := range rep.Ns {
				c := Config{N: n, K: k, Delay: d}
				o, b := rep.find("ours", c), rep.find("baseline", c)
				if o == nil || b == nil || o.Completed == 0 || b.Completed == 0 {
					continue
				}
				rep.Comparisons = append(rep.Comparisons, Comparison{K: k, N: n, DelayS: ds,
					LatencyP50Ratio: o.P50S / b.P50S, ThroughputRatio: o.ThroughputPerMin / b.ThroughputPerMin,
					OursPctOfCPUBound: o.PctOfCPUBound})
			}
			for _, sys := range []string{"ours", "baseline"} {
				one, three := rep.find(sys, Config{N: 1, K: k, Delay: d}), rep.find(sys, Config{N: 3, K: k, Delay: d})
				if one == nil || three == nil || one.Completed == 0 || three.Completed < 3 {
					continue
				}
				t := Target{K: k, DelayS: ds, System: sys, OneS: one.P50S, ThreeWallS: three.WallS, ThreeP50S: three.P50S}
				t.Ratio, t.ThreeP50Rat = t.ThreeWallS/t.OneS, t.ThreeP50S/t.OneS
				t.Met = t.Ratio <= 1.3
				rep.Targets = append(rep.Targets, t)
			}
		}
	}
}
