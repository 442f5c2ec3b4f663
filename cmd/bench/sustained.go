package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/metrics"
	"github.com/xmr-escrow/xmr-escrow/starter"
)

// The sustained mode (-sustained) measures scale: N escrows kept in flight on one worker and
// its elastic pool, each run from order to completed or refunded, a new one started as soon
// as one ends, on a regtest chain that mines a block every -sustained-block. Escrows take
// the outcomes release, refund and dispute in turn, so setups of new escrows run while
// others fund and pay out, as a marketplace sees them. After a warm-up (N escrows
// completed: the pipeline is full), it counts the escrows that end in a window
// (-sustained-window), and samples the wallet-rpc pool's memory and everyone's CPU. The
// escrows run on the product's own timings (escrow.Timing's defaults, the block watcher's
// default poll): its funding and payout waits learn of blocks from the watcher, as in
// production.

// kindDispute: the vendor ships, the buyer opens a dispute, the arbiter resolves it to the
// vendor (arbiter and vendor sign).
const kindDispute = "dispute"

// susKinds are the outcomes sustained escrows take in turn.
var susKinds = []string{kindRelease, kindRefund, kindDispute}

// susStatusPoll is how often a sustained escrow's driver asks its status: a marketplace's
// page refresh, not the product's; it adds at most this much to each of three waits.
const susStatusPoll = 2 * time.Second

// susSamplePeriod is how often the pool's memory is sampled.
const susSamplePeriod = 5 * time.Second

// susEnd is one sustained escrow that ended: when it started and ended, or how it failed.
type susEnd struct {
	started, ended time.Time
	err            error
}

// sustainedN keeps n escrows in flight on a fresh stack over the shared chain, and returns
// what the window measured.
func sustainedN(ctx context.Context, o options, dir string, chain *devstack.Chain, pay payees, n int) (*SusResult, error) {
	// A run that never warms up (escrows stuck) ends, as a batch does.
	ctx, cancelN := context.WithTimeout(ctx, o.batchTimeout+o.susWindow)
	defer cancelN()
	dm := &daemons{monerod: chain.Daemon}
	logf("sustained N=%d: starting the local stack (%d wallet-rpc, growing to %d, key cache %t)", n, o.susK, o.growMax, o.keycache)
	st, err := startOurs(ctx, mkdir(dir, fmt.Sprintf("n%d-k%d-kc%t", n, o.susK, o.keycache)), o.postgres, o.susK, oursOptions{variant: daemonUp, daemons: dm, grow: o.growMax, noKeyCache: !o.keycache})
	if err != nil {
		return nil, err
	}
	defer st.Stop()

	rctx, cancel := context.WithCancel(ctx)
	var payMu sync.Mutex
	var seq atomic.Int64
	ends := make(chan susEnd, n)
	var wg sync.WaitGroup
	defer func() {
		// The escrows still in flight are cut off; their drivers may still be reporting.
		cancel()
		go func() {
			for range ends {
			}
		}()
		wg.Wait()
	}()
	for range n {
		wg.Go(func() {
			for rctx.Err() == nil {
				i := seq.Add(1)
				id := fmt.Sprintf("sus-n%d-%d", n, i)
				began := time.Now()
				err := st.sustainedEscrow(rctx, chain, &payMu, id, susKinds[int(i-1)%len(susKinds)], pay)
				if rctx.Err() != nil {
					return // cut off by the window's end: neither completed nor failed
				}
				ends <- susEnd{started: began, ended: time.Now(), err: wrap(id, err)}
			}
		})
	}
	mineErr := make(chan error, 1)
	go func() { mineErr <- mineEvery(rctx, chain, o.susBlock) }()

	res := &SusResult{N: n, K: o.susK, KeyCache: o.keycache}
	mem := &memSampler{}
	var w *susWindow
	warm := 0
	sample := time.NewTicker(susSamplePeriod)
	defer sample.Stop()
	var windowEnd <-chan time.Time
	for w == nil || !w.done {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case err := <-mineErr:
			return res, fmt.Errorf("the chain's miner: %w", err)
		case e := <-ends:
			if e.err != nil {
				res.Failed++
				res.Errors = append(res.Errors, e.err.Error())
				logf("sustained N=%d: FAILED: %v", n, e.err)
				if res.Failed > max(3, n/10) {
					return res, fmt.Errorf("%d escrows failed; the last: %w", res.Failed, e.err)
				}
				continue
			}
			if w != nil {
				w.add(e)
				continue
			}
			if warm++; warm >= n {
				logf("sustained N=%d: warm (%d completed); measuring %s", n, warm, o.susWindow)
				if w, err = st.openWindow(chain); err != nil {
					return res, err
				}
				windowEnd = time.After(o.susWindow)
			}
		case <-sample.C:
			mem.sample(st.s.Pool.Memory(), st.s.Pool.Size())
		case <-windowEnd:
			w.done = true
		}
	}
	res.Started = int(seq.Load())
	res.Parked = countLogged(st.logFile.Name(), "payout parked")
	return res, w.close(res, mem)
}

// sustainedEscrow runs one escrow from order to its end: start, Ready, paid, funded, the
// decisions kind asks for, completed or refunded. The funder pays one escrow at a time.
func (o *ours) sustainedEscrow(ctx context.Context, chain *devstack.Chain, payMu *sync.Mutex, id, kind string, pay payees) error {
	in := input(id, 0, 0)
	in.AmountAtomic, in.VendorPayoutAddress, in.BuyerRefundAddress = lifePrice, pay.vendor, pay.buyer
	if _, err := o.s.Starter.Start(ctx, in); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	st, err := o.waitReady(ctx, id)
	if err != nil {
		return fmt.Errorf("wait ready: %w", err)
	}
	payMu.Lock()
	_, err = chain.Pay(ctx, st.Address, lifePrice)
	payMu.Unlock()
	if err != nil {
		return fmt.Errorf("pay the escrow: %w", err)
	}
	if _, err := o.s.Starter.WaitUntil(ctx, id, susStatusPoll, func(st escrow.State) bool { return st.Status == escrow.StatusFunded }); err != nil {
		return fmt.Errorf("wait funded: %w", err)
	}
	final := escrow.StatusCompleted
	for _, d := range decisionsFor(kind) {
		if _, err := o.s.Starter.Decide(ctx, id, d.update, d.in); err != nil {
			return fmt.Errorf("decide %s: %w", d.update, err)
		}
		if d.update == escrow.UpdateAgreeRefund {
			final = escrow.StatusRefunded
		}
	}
	_, err = o.s.Starter.WaitUntil(ctx, id, susStatusPoll, func(st escrow.State) bool { return st.Status == final })
	return wrap("wait "+string(final), err)
}

// susReadyTries bounds how often waitReady asks again.
const susReadyTries = 30

// waitReady is Starter.WaitReady, asked again when the engine was too busy to answer: with
// 100 escrows started at once, the first status query can time out before a worker takes it
// ("query timed out before a worker could process it"). The escrow is fine; only the answer
// was late, and a driver that gave up on it would leave it unattended. A failed setup, an
// unknown escrow or ctx's end still ends the wait.
func (o *ours) waitReady(ctx context.Context, id string) (escrow.State, error) {
	for try := 1; ; try++ {
		st, err := o.s.Starter.WaitReady(ctx, id)
		if err == nil || try == susReadyTries || ctx.Err() != nil ||
			errors.Is(err, starter.ErrSetupFailed) || errors.Is(err, starter.ErrUnknownEscrow) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, err
		case <-time.After(susStatusPoll):
		}
	}
}

// decision is one decision a sustained escrow's party makes.
type decision struct {
	update escrow.UpdateName
	in     escrow.DecisionInput
}

// decisionsFor are the decisions that end a funded escrow as kind, in order.
func decisionsFor(kind string) []decision {
	switch kind {
	case kindRefund:
		return []decision{{escrow.UpdateAgreeRefund, decisionBy(escrow.Vendor)}}
	case kindDispute:
		open := decisionBy(escrow.Buyer)
		open.Reason = "the parcel never arrived"
		resolve := decisionBy(escrow.Arbiter)
		resolve.Winner = escrow.Vendor
		return []decision{{escrow.UpdateMarkShipped, decisionBy(escrow.Vendor)}, {escrow.UpdateOpenDispute, open}, {escrow.UpdateResolveDispute, resolve}}
	default:
		return []decision{{escrow.UpdateConfirmReceipt, decisionBy(escrow.Buyer)}}
	}
}

// mineEvery mines one block every period until ctx ends.
func mineEvery(ctx context.Context, chain *devstack.Chain, period time.Duration) error {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := chain.Mine(ctx, 1); err != nil && ctx.Err() == nil {
				return err
			}
		}
	}
}

// susWindow is the measured window: the escrows that ended in it and the CPU and opens
// around it.
type susWindow struct {
	st       *ours
	began    time.Time
	cpu      cpuSample
	meter    cpuMeter
	poolCPU  time.Duration
	engine   time.Duration
	opens    int64
	yields   float64
	latency  []float64
	complete int
	done     bool
}

// openWindow starts the window now.
func (o *ours) openWindow(chain *devstack.Chain) (*susWindow, error) {
	w := &susWindow{st: o, began: time.Now(), opens: o.workerOpens(), yields: metricSum(o.s.Metrics.Registry, metrics.MetricStepsYielded)}
	w.meter = cpuMeter{mine: func() []int { return append(o.pids(), os.Getpid(), chain.Daemon.Proc.Pid(), chain.Funder.Proc.Pid()) }}
	w.cpu = w.meter.sample()
	var err error
	if w.poolCPU, err = sumCPU(o.walletRPCPids()); err != nil {
		return nil, fmt.Errorf("wallet-rpc CPU: %w", err)
	}
	server, self := o.engineCPU()
	w.engine = server + self
	return w, nil
}

// add counts an escrow that ended in the window.
func (w *susWindow) add(e susEnd) {
	w.complete++
	w.latency = append(w.latency, e.ended.Sub(e.started).Seconds())
}

// close fills res from the window. The pool's CPU is read again over the instances it has
// now; one that was retired in the window would be missing, and the error says so.
func (w *susWindow) close(res *SusResult, mem *memSampler) error {
	wall := time.Since(w.began)
	res.WindowS, res.Completed = wall.Seconds(), w.complete
	res.PerHour = float64(w.complete) / wall.Hours()
	slices.Sort(w.latency)
	res.LatencyP50S, res.LatencyP90S = percentile(w.latency, 50), percentile(w.latency, 90)
	res.PoolRSSMeanMiB, res.PoolRSSPeakMiB, res.PoolInstancesPeak = mem.mean(), mem.peak, mem.instances
	after := w.meter.sample()
	if w.cpu.ok && after.ok {
		res.MachineCores = (after.busy - w.cpu.busy).Seconds() / wall.Seconds()
	}
	if w.complete == 0 {
		return errors.New("no escrow ended in the window: make it longer (-sustained-window)")
	}
	per := func(d time.Duration) float64 { return d.Seconds() / float64(w.complete) }
	pool, err := sumCPU(w.st.walletRPCPids())
	if err != nil {
		return fmt.Errorf("wallet-rpc CPU: %w", err)
	}
	server, self := w.st.engineCPU()
	res.WalletRPCCPUPerEscrowS, res.EngineCPUPerEscrowS = per(pool-w.poolCPU), per(server+self-w.engine)
	res.OpensPerEscrow = float64(w.st.workerOpens()-w.opens) / float64(w.complete)
	yields := (metricSum(w.st.s.Metrics.Registry, metrics.MetricStepsYielded) - w.yields) / float64(w.complete)
	res.YieldsPerEscrow = &yields
	return nil
}

// memSampler keeps the pool's resident memory over the window's samples.
type memSampler struct {
	sum, peak float64
	count     int
	instances int
}

// sample adds one reading of the pool's resident memory (the supervisor's own sum, which its
// memory budget reads) and its size.
func (m *memSampler) sample(bytes int64, instances int) {
	mib := float64(bytes) / (1 << 20)
	m.sum += mib
	m.count++
	m.peak = max(m.peak, mib)
	m.instances = max(m.instances, instances)
}

// mean is the mean reading, 0 for none (JSON has no NaN).
func (m *memSampler) mean() float64 {
	if m.count == 0 {
		return 0
	}
	return m.sum / float64(m.count)
}

// countLogged counts the worker's log lines whose message is msg (-1 if the log cannot be read).
func countLogged(path, msg string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	return strings.Count(string(b), fmt.Sprintf(`"msg":%q`, msg))
}

// runSustained is the -sustained mode's run: a regtest chain of its own, then each N of
// -sustained-n on a fresh stack.
func runSustained(ctx context.Context, o options, work string) (*SusReport, error) {
	chain, pay, stop, err := startBenchChain(ctx, "sustained", work)
	if err != nil {
		return nil, err
	}
	defer stop()
	sr := &SusReport{Date: time.Now().UTC().Format(time.RFC3339), Machine: machineInfo(), Args: os.Args[1:],
		BlockS: o.susBlock.Seconds(), GrowMax: o.growMax, Kinds: susKinds}
	quiet := cpuMeter{mine: func() []int { return []int{os.Getpid(), chain.Daemon.Proc.Pid(), chain.Funder.Proc.Pid()} }}
	for _, n := range o.susNs {
		if o.quietWait > 0 {
			if _, err := quiet.waitQuiet(ctx, o.quietWait); err != nil {
				return sr, err
			}
		}
		res, err := sustainedN(ctx, o, work, chain, pay, n)
		if res != nil {
			sr.Results = append(sr.Results, res)
			logf("sustained N=%d: %s", n, res)
		}
		if err != nil {
			return sr, fmt.Errorf("sustained N=%d: %w", n, err)
		}
		if err := settle(ctx); err != nil {
			return sr, err
		}
	}
	return sr, nil
}
