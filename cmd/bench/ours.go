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
	"github.com/xmr-escrow/xmr-escrow/internal/localstack"
	"github.com/xmr-escrow/xmr-escrow/internal/timeline"
)

// Real mainnet addresses for escrows that never pay out (the public fixtures of moneroaddr,
// the same the integration tests use).
const (
	vendorAddr = "48qYABs3W1BLzsHcPmPzqDMqQftxBBBQ5DtsEeULhsxqaWknsUPsLkdAq63wqANJ7L2ZdBbZxwVvBfZz3E4Aw4RUMFDn6h5"
	buyerAddr  = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
)

// ours runs batches on one local stack: the product with K supervised wallet-rpcs
// connected to a daemon, so that a ready escrow goes on to the funding wait as in
// production.
type ours struct {
	s       *localstack.Stack
	k       int
	variant string // daemonUp or daemonDown
	poll    time.Duration
	dropDB  func()
	logFile *os.File
}

// oursOptions shape one local stack.
type oursOptions struct {
	// variant names the daemon the pool points at (daemonUp, daemonDown).
	variant string
	// daemons provides its address.
	daemons *daemons
	// fundingPoll is the escrows' first wait between funding checks; 0 keeps the
	// product's default (escrow.Timing).
	fundingPoll time.Duration
	// grow lets the pool grow to this many instances while setups wait for a lease (the
	// product's elastic pool); 0 keeps it at K.
	grow int
	// noKeyCache runs the pool's wallet-rpcs without the key cache.
	noKeyCache bool
	// watcherPoll is the block watcher's poll (0: the product's default).
	watcherPoll time.Duration
}

// startOurs starts the local stack (Temporal dev server headless, K wallet-rpc pointed at
// the variant's daemon, the worker, the projection on a fresh database) under dir.
func startOurs(ctx context.Context, dir, pgServer string, k int, oo oursOptions) (*ours, error) {
	dsn, drop, err := newDatabase(ctx, pgServer)
	if err != nil {
		return nil, err
	}
	o := &ours{k: k, variant: oo.variant, poll: oo.fundingPoll, dropDB: drop}
	if o.logFile, err = os.Create(filepath.Join(dir, "worker.log")); err != nil {
		drop()
		return nil, err
	}
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(o.logFile), zapcore.WarnLevel))
	o.s, err = localstack.Start(ctx, localstack.Options{
		Dir:           dir,
		WalletRPCs:    k,
		WalletRPCsMax: oo.grow,
		NoKeyCache:    oo.noKeyCache,
		Headless:      true,
		DatabaseURL:   dsn,
		Logger:        logger,
		Chain:         oo.daemons.chain(oo.variant),
		DaemonAddress: oo.daemons.address(oo.variant),
		// The block watcher sees a block as soon as the script's poll would (lifecycles).
		BlockWatcherPoll: oo.watcherPoll,
	})
	if err != nil {
		_ = o.logFile.Close()
		drop()
		return nil, fmt.Errorf("start the local stack (K=%d, daemon %s): %w", k, oo.variant, err)
	}
	return o, nil
}

// Stop tears the stack down and drops its database.
func (o *ours) Stop() {
	o.s.Stop()
	o.dropDB()
	_ = o.logFile.Close()
}

// pids are the processes the local stack runs: its wallet-rpcs and the dev server.
func (o *ours) pids() []int {
	return append(o.walletRPCPids(), o.s.Temporal.Proc.Pid())
}

// walletRPCPids are the pool's processes now, those it grew to included.
func (o *ours) walletRPCPids() []int {
	var pids []int
	for _, r := range o.s.Pool.Instances() {
		pids = append(pids, o.s.Pool.Pid(r.Name))
	}
	return pids
}

func (o *ours) restarts() int64 {
	var n int64
	for _, r := range o.s.Pool.Instances() {
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
	opens   int // open_wallet calls of its setup (escrow.State.WalletOpens at Ready)
	err     error
	// from the timeline (ours only)
	path      pathBreakdown
	pathError error
}

// batch starts cfg.N escrows at once and waits until every one is ready. A ready escrow is
// not stopped: it goes on to the funding wait as in production, and its wallet-rpc steps run
// on its wallet-rpc instance while the batch's later setups run, so they are part of what is
// measured. Every escrow of the batch is terminated once the batch is measured.
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
			in := input(id, cfg.Delay, o.poll)
			t0 := time.Now()
			r := escrowRun{id: id}
			if _, r.err = o.s.Starter.Start(ctx, in); r.err == nil {
				var st escrow.State
				st, r.err = o.s.Starter.WaitReady(ctx, id)
				r.opens = st.WalletOpens
			}
			t1 := time.Now()
			r.latency = t1.Sub(t0)
			mu.Lock()
			last = maxTime(last, t1)
			mu.Unlock()
			runs[i] = r
		})
	}
	wg.Wait()
	wall := last.Sub(first)
	// The pool may have grown during the batch: a new process's CPU is all this batch's.
	cpu1, cpuErr := sumCPU(o.walletRPCPids())
	srv1, self1 := o.engineCPU()
	restarts1, opens1 := o.restarts(), o.workerOpens()
	// Nothing of this batch may run into the next one: end every escrow, whatever happens
	// below (a background context, so that an interrupted run still cleans up the server).
	defer o.terminate(runs)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// The critical path of each escrow and its funding-wait steps up to the batch's end, from
	// its history.
	for i := range runs {
		if runs[i].err == nil {
			runs[i].path, runs[i].pathError = criticalPath(ctx, o, runs[i].id, runs[i].latency, last)
		}
	}

	res := newResult("ours", cfg)
	res.Daemon = o.variant
	res.WallS = wall.Seconds()
	var lat []float64
	var opens, attempts int
	steps := map[string]int{}
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
		for name, c := range r.path.FundingSteps {
			steps[name] += c
		}
		attempts += r.path.FundingAttempts
		paths = append(paths, r.path)
	}
	res.setLatencies(lat)
	res.OpensPerEscrow = float64(opens) / float64(cfg.N)
	res.WorkerOpensPerEscrow = float64(opens1-opens0) / float64(cfg.N)
	res.FundingStepsPerEscrow = map[string]float64{}
	for name, c := range steps {
		res.FundingStepsPerEscrow[name] = float64(c) / float64(cfg.N)
		res.FundingChecksPerEscrow += float64(c) / float64(cfg.N)
	}
	res.FundingAttemptsPerEscrow = float64(attempts) / float64(cfg.N)
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

// terminate ends the batch's escrows: terminate, not cancel, because a cancel makes the
// escrow take a fresh funding check (wallet-rpc work after the batch was measured).
func (o *ours) terminate(runs []escrowRun) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, r := range runs {
		if r.id == "" {
			continue
		}
		// An escrow that never started has nothing to terminate: its error says so.
		_ = o.s.Client.TerminateWorkflow(ctx, escrow.WorkflowID(r.id), "", "benchmark batch measured")
	}
}

// input is a valid escrow of the marketplace around id, as the integration tests make them.
// poll, if not 0, replaces the product's first wait between funding checks (it still doubles
// up to the product's maximum).
func input(id string, delay, poll time.Duration) escrow.EscrowInput {
	return escrow.EscrowInput{
		EscrowID: id, PurgeDelay: &delay,
		Order: escrow.Order{
			OrderID: "order-" + id, BuyerID: "buyer-7", VendorID: "vendor-8", ArbiterID: "arbiter-9",
			AmountAtomic: 2_000_000_000_000, VendorPayoutAddress: vendorAddr, BuyerRefundAddress: buyerAddr,
		},
		Timing: escrow.Timing{FundingPoll: poll},
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
	// FundingSteps counts, per activity type, the wallet-rpc steps after Ready (the funding
	// wait's: CheckFunding, RegisterWatch, ...) scheduled before the batch's end;
	// FundingAttempts their attempts (retries included) when the history was read.
	FundingSteps    map[string]int
	FundingAttempts int
}

// criticalPath reads the escrow's timeline, splits its latency and counts the wallet-rpc
// steps of its funding wait scheduled before until (the batch's end).
func criticalPath(ctx context.Context, o *ours, id string, latency time.Duration, until time.Time) (pathBreakdown, error) {
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
	p.StepRun, p.FundingSteps = map[string]time.Duration{}, map[string]int{}
	waits := map[string]time.Duration{}
	exchanges := map[string]int{} // per instance: ExchangeMultisigKeys seen so far
	var started, firstCreate time.Time
	ready := false
	for _, e := range tl.Entries {
		if e.Kind == timeline.KindPhase && e.Name == string(escrow.PhaseReady) {
			ready = true
		}
		if ready {
			// Steps on an instance's queue are the ones that use a wallet-rpc.
			if e.Kind == timeline.KindStep && e.Instance != "" && e.Start.Before(until) {
				p.FundingSteps[e.Name]++
				p.FundingAttempts += int(max(e.Attempt, 1))
			}
			continue
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
