package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/localstack"
	"github.com/xmr-escrow/xmr-escrow/timeline"
)

// Real mainnet addresses for escrows that never pay out (the public fixtures of moneroaddr,
// the same the integration tests use).
const (
	vendorAddr = "48qYABs3W1BLzsHcPmPzqDMqQftxBBBQ5DtsEeULhsxqaWknsUPsLkdAq63wqANJ7L2ZdBbZxwVvBfZz3E4Aw4RUMFDn6h5"
	buyerAddr  = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
)

// fundingPoll pushes the funding checks after the first one past any batch, in case an
// escrow outlives its setup (docs/design.md, "Funding cost", measures the polls).
const fundingPoll = time.Hour

// ours runs batches on one local stack: the product with K supervised wallet-rpcs.
type ours struct {
	s       *localstack.Stack
	k       int
	dropDB  func()
	logFile *os.File
}

// startOurs starts the local stack (Temporal dev server headless, K wallet-rpc --offline,
// the worker, the projection on a fresh database) under dir.
func startOurs(ctx context.Context, dir, pgServer string, k int) (*ours, error) {
	dsn, drop, err := newDatabase(ctx, pgServer)
	if err != nil {
		return nil, err
	}
	o := &ours{k: k, dropDB: drop}
	if o.logFile, err = os.Create(filepath.Join(dir, "worker.log")); err != nil {
		drop()
		return nil, err
	}
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(o.logFile), zapcore.WarnLevel))
	o.s, err = localstack.Start(ctx, localstack.Options{
		Dir:         dir,
		WalletRPCs:  k,
		Headless:    true,
		DatabaseURL: dsn,
		Logger:      logger,
	})
	if err != nil {
		_ = o.logFile.Close()
		drop()
		return nil, fmt.Errorf("start the local stack (K=%d): %w", k, err)
	}
	return o, nil
}

// Stop tears the stack down and drops its database.
func (o *ours) Stop() {
	o.s.Stop()
	o.dropDB()
	_ = o.logFile.Close()
}

func (o *ours) walletRPCPids() []int {
	var pids []int
	for _, r := range o.s.RPCs {
		pids = append(pids, o.s.Pool.Pid(r.Name))
	}
	return pids
}

func (o *ours) restarts() int64 {
	var n int64
	for _, r := range o.s.RPCs {
		n += o.s.Pool.Restarts(r.Name)
	}
	return n
}

func (o *ours) workerOpens() int64 {
	var n int64
	for _, st := range o.s.Worker.Stats() {
		n += st.Opens
	}
	return n
}

// engineCPU is the CPU the engine around the wallet-rpcs used: the dev server process and
// this process (worker, client, status polls).
func (o *ours) engineCPU() (server, self time.Duration) {
	server, _ = procCPU(o.s.Temporal.Proc.Pid())
	self, _ = procCPU(os.Getpid())
	return server, self
}

// escrowRun is what one escrow of a batch yields.
type escrowRun struct {
	id      string
	latency time.Duration
	opens   int
	err     error
	// from the timeline (ours only)
	path      pathBreakdown
	pathError error
}

// batch starts cfg.N escrows at once, waits until every one is ready, and measures.
func (o *ours) batch(ctx context.Context, cfg Config, prefix string) (*Result, error) {
	pids := o.walletRPCPids()
	restarts0, opens0 := o.restarts(), o.workerOpens()
	cpu0, err := sumCPU(pids)
	if err != nil {
		return nil, fmt.Errorf("wallet-rpc CPU: %w", err)
	}
	srv0, self0 := o.engineCPU()

	runs := make([]escrowRun, cfg.N)
	first := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	last := first
	for i := range cfg.N {
		id := fmt.Sprintf("%s-%d", prefix, i+1)
		wg.Go(func() {
			in := input(id, cfg.Delay)
			t0 := time.Now()
			r := escrowRun{id: id}
			if _, r.err = o.s.Starter.Start(ctx, in); r.err == nil {
				var st escrow.State
				st, r.err = o.s.Starter.WaitReady(ctx, id)
				r.opens = st.WalletOpens
			}
			t1 := time.Now()
			// The setup is what is measured: end the escrow as soon as it is ready. Its
			// funding check cannot succeed on an --offline wallet-rpc (get_transfers with
			// pool answers code 0, which is retried), and each retry would reopen the
			// escrow's wallet on an instance that already serves the next setup.
			_ = o.s.Client.TerminateWorkflow(ctx, escrow.WorkflowID(id), "", "benchmark: setup measured")
			r.latency = t1.Sub(t0)
			mu.Lock()
			if t1.After(last) {
				last = t1
			}
			mu.Unlock()
			runs[i] = r
		})
	}
	wg.Wait()
	wall := last.Sub(first)
	cpu1, cpuErr := sumCPU(pids)
	srv1, self1 := o.engineCPU()
	restarts1, opens1 := o.restarts(), o.workerOpens()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// The critical path of each escrow, from its history.
	for i := range runs {
		if runs[i].err == nil {
			runs[i].path, runs[i].pathError = criticalPath(ctx, o, runs[i].id, runs[i].latency)
		}
	}
	// Escrows whose setup failed may still run: stop them before the next batch.
	for _, r := range runs {
		if r.err != nil {
			_ = o.s.Client.TerminateWorkflow(ctx, escrow.WorkflowID(r.id), "", "benchmark batch measured")
		}
	}

	res := newResult("ours", cfg)
	res.WallS = wall.Seconds()
	var lat []float64
	var opens int
	var paths []pathBreakdown
	for _, r := range runs {
		if r.err != nil {
			res.fail(fmt.Errorf("escrow %s: %w", r.id, r.err))
			continue
		}
		lat = append(lat, r.latency.Seconds())
		opens += r.opens
		if r.pathError != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("timeline of %s: %v", r.id, r.pathError))
			continue
		}
		paths = append(paths, r.path)
	}
	res.setLatencies(lat)
	res.OpensPerEscrow = float64(opens) / float64(cfg.N)
	res.WorkerOpensPerEscrow = float64(opens1-opens0) / float64(cfg.N)
	if cpuErr != nil || restarts1 != restarts0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("a wallet-rpc restarted or vanished during the batch (%v): CPU not measured", cpuErr))
	} else {
		res.setCPU(cpu1-cpu0, cfg.N)
	}
	res.TemporalServerCPUPerEscrowS = (srv1 - srv0).Seconds() / float64(cfg.N)
	res.BenchProcessCPUPerEscrowS = (self1 - self0).Seconds() / float64(cfg.N)
	res.setPaths(paths)
	return res, nil
}

// input is a valid escrow of the marketplace around id, as the integration tests make them.
func input(id string, delay time.Duration) escrow.EscrowInput {
	return escrow.EscrowInput{
		EscrowID: id, PurgeDelay: &delay,
		Order: escrow.Order{
			OrderID: "order-" + id, BuyerID: "buyer-7", VendorID: "vendor-8", ArbiterID: "arbiter-9",
			AmountAtomic: 2_000_000_000_000, VendorPayoutAddress: vendorAddr, BuyerRefundAddress: buyerAddr,
		},
		Timing: escrow.Timing{FundingPoll: fundingPoll, FundingPollMax: fundingPoll},
	}
}

// stepGroups are the setup's steps in order; each runs once per role, in parallel.
var stepGroups = []string{"CreateWallet", "PrepareMultisig", "MakeMultisig", "ExchangeMultisigKeys round 2", "ExchangeMultisigKeys round 3", "VerifyMultisig"}

// pathBreakdown splits one escrow's latency.
type pathBreakdown struct {
	// StepRun is, per step group, the longest run (start → close) across the three roles.
	StepRun map[string]time.Duration
	// Timers is the purge timers' total duration.
	Timers time.Duration
	// Critical is the sum of StepRun plus Timers: the time spent inside wallet-rpc calls
	// and timers on the setup's critical path.
	Critical time.Duration
	// Overhead is latency minus Critical.
	Overhead time.Duration
	// LeaseWait is workflow start → first CreateWallet scheduled: the first workflow task
	// and the wait for three idle wallet-rpc instances (the lease).
	LeaseWait time.Duration
	// QueueWait is, summed over the step groups, the longest schedule-to-start across roles.
	QueueWait time.Duration
}

// criticalPath reads the escrow's timeline and splits its latency.
func criticalPath(ctx context.Context, o *ours, id string, latency time.Duration) (pathBreakdown, error) {
	// The status query answers from the workflow's memory; history may need a moment more
	// to hold the Ready upsert.
	var tl timeline.Timeline
	var err error
	for try := 0; ; try++ {
		tl, err = timeline.Fetch(ctx, o.s.Client, id)
		if err == nil && hasReady(tl) {
			break
		}
		if try == 50 || ctx.Err() != nil {
			if err == nil {
				err = errors.New("no Ready phase in history")
			}
			return pathBreakdown{}, err
		}
		time.Sleep(200 * time.Millisecond)
	}
	var p pathBreakdown
	p.StepRun = map[string]time.Duration{}
	waits := map[string]time.Duration{}
	exchanges := map[string]int{} // per instance: ExchangeMultisigKeys seen so far
	var started, firstCreate time.Time
	for _, e := range tl.Entries {
		if e.Kind == timeline.KindPhase && e.Name == string(escrow.PhaseReady) {
			break
		}
		switch e.Kind {
		case timeline.KindWorkflow:
			if e.Name == "started" && started.IsZero() {
				started = e.Start
			}
		case timeline.KindTimer:
			if e.Name == "purge delay" {
				p.Timers += e.Duration
			}
		case timeline.KindStep:
			group := e.Name
			switch e.Name {
			case "CreateWallet":
				if firstCreate.IsZero() {
					firstCreate = e.Start
				}
			case "ExchangeMultisigKeys":
				exchanges[e.Instance]++
				group = fmt.Sprintf("ExchangeMultisigKeys round %d", exchanges[e.Instance]+1)
			}
			p.StepRun[group] = max(p.StepRun[group], e.StartToClose())
			waits[group] = max(waits[group], e.Wait)
		}
	}
	for _, g := range stepGroups {
		p.Critical += p.StepRun[g]
		p.QueueWait += waits[g]
	}
	p.Critical += p.Timers
	p.Overhead = latency - p.Critical
	if !firstCreate.IsZero() && !started.IsZero() {
		p.LeaseWait = firstCreate.Sub(started)
	}
	return p, nil
}

func hasReady(tl timeline.Timeline) bool {
	for _, e := range tl.Entries {
		if e.Kind == timeline.KindPhase && e.Name == string(escrow.PhaseReady) {
			return true
		}
	}
	return false
}
