package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/activities/placement"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/rpcinstance"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// ErrNoGrowth is a Grow that may add no instance (the pool is at its budget).
var ErrNoGrowth = rpcinstance.ErrNoGrowth

// serve builds the Temporal worker of one instance's task queue, with its activities, and
// records the instance; the caller starts it.
func (w *Worker) serve(in Instance, pool *placement.Pool) (sdkworker.Worker, error) {
	counters := &activities.Counters{}
	rpcCfg := walletrpc.Config{URL: in.URL, Username: in.Username, Password: in.Password, Timeout: w.timeout}
	opts := sdkworker.Options{
		// One step at a time per wallet-rpc: it can hold one wallet open and is not
		// safe for concurrent calls. This replaces the predecessor's global mutex.
		MaxConcurrentActivityExecutionSize: 1,
		MaxConcurrentActivityTaskPollers:   1,
		WorkerStopTimeout:                  10 * time.Second,
		OnFatalError:                       w.onFatal,
	}
	tracker := &stepTracker{}
	// The caller check runs first: a step from another workflow never touches the wallet.
	opts.Interceptors = []interceptor.WorkerInterceptor{activities.CallerInterceptor(), tracker}
	if m := w.cfg.Metrics; m != nil {
		rpcCfg.Observe = m.ObserveRPC(in.Name)
		opts.Interceptors = append(opts.Interceptors, m.StepWait(in.Name))
		m.CountMismatches(in.Name, counters.Mismatches.Load)
		m.CountYields(in.Name, counters.Yields.Load)
	}
	rpc := walletrpc.New(rpcCfg)
	acts, err := activities.NewWallet(activities.WalletConfig{
		Instance:  in.Name,
		RPC:       rpc,
		Dir:       in.WalletDir,
		Secret:    w.cfg.WalletSecret,
		Counters:  counters,
		Pool:      pool,
		Backups:   backupsOf(w.cfg),
		Watches:   watchesOf(w.cfg),
		Host:      w.host,
		Daemon:    w.feeDaemon(),
		Decisions: activities.QueryDecisions{Client: w.client},
	})
	if err != nil {
		return nil, err
	}
	ww := sdkworker.New(w.client, escrow.WalletTaskQueue(in.Name), opts)
	ww.RegisterActivity(acts)
	w.mu.Lock()
	w.rpcs[in.Name] = rpc
	w.counters[in.Name] = counters
	w.trackers = append(w.trackers, tracker)
	w.mu.Unlock()
	return ww, nil
}

// instanceNames returns the names of the instances this worker serves now.
func (w *Worker) instanceNames() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.names...)
}

// growIdleFor is how long an instance must have run no step to count as held idle: longer
// than the pauses between a setup's steps (a Temporal round trip), shorter than a purge timer.
const growIdleFor = 3 * time.Second

// maybeGrow runs on every heartbeat: when setups wait for a lease, no setup fits in the
// deployment's free instances, and at least one setup's worth of this host's instances ran
// no step for growIdleFor (their setups hold them through purge timers), it asks
// Config.Grow for one setup's worth of instances per waiting setup (at most two at a time),
// serves them, announces them, and wakes the oldest waiters they fit. A pool whose leased
// instances are all computing does not grow: more instances would only share the same cores,
// and setups computing side by side past the cores' count cost more CPU each (measured with
// growth on idle cores as well: 5.2 against 4.3 wallet-rpc CPU-s per escrow for three at
// once, and a slower batch). At most one grow runs at a time; it never blocks the heartbeat.
func (w *Worker) maybeGrow(ctx context.Context) {
	if w.cfg.Grow == nil || w.pool == nil || w.idleInstances(growIdleFor) < escrow.Total || !w.growing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer w.growing.Store(false)
		waiting, err := w.store.CountLeaseWaiters(ctx)
		if err != nil || waiting == 0 {
			return
		}
		pool, err := w.store.CountInstances(ctx, liveFor)
		if err != nil || pool.Live-pool.Leased-pool.Wanted >= escrow.Total {
			return // a waiter fits already; a release or its timer will bring it
		}
		n := escrow.Total * int(min(waiting, 2))
		if err := w.grow(ctx, n); err != nil && !errors.Is(err, ErrNoGrowth) && ctx.Err() == nil {
			w.log.Warn("grow the wallet-rpc pool", zap.Int("wanted", n), zap.Error(err))
		}
	}()
}

// grow adds n instances through Config.Grow, starts serving them and wakes the setups they fit.
func (w *Worker) grow(ctx context.Context, n int) error {
	gctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ins, err := w.cfg.Grow(gctx, n)
	if err != nil {
		return err
	}
	if err := w.addInstances(ins); err != nil {
		return err
	}
	w.place.beat(ctx) // announce them before waking anyone
	for range len(ins) / escrow.Total {
		next, found, err := w.store.PopLeaseWaiter(ctx, liveFor)
		if err != nil || !found {
			break
		}
		w.wake(next)
	}
	return nil
}

// addInstances serves instances added while running: it locks their wallet dirs, builds their
// task queue workers and starts them if the worker runs. The shared lease table places
// setups on them once announced; the in-memory pool has a fixed size and cannot.
func (w *Worker) addInstances(ins []Instance) error {
	if w.place == nil {
		return fmt.Errorf("worker: add instances: %w (growing needs the shared lease table, a Store)", ErrNoGrowth)
	}
	if err := w.own.Bind(ins); err != nil {
		return fmt.Errorf("worker: add instances: %w", err)
	}
	for _, in := range ins {
		ww, err := w.serve(in, w.pool)
		if err != nil {
			return err
		}
		w.mu.Lock()
		w.workers = append(w.workers, ww)
		w.names = append(w.names, in.Name)
		var startErr error
		if w.running {
			startErr = ww.Start()
		}
		w.mu.Unlock()
		if startErr != nil {
			return fmt.Errorf("worker: start instance %s: %w", in.Name, startErr)
		}
		w.log.Info("serving wallet-rpc", zap.String("instance", in.Name), zap.String("task_queue", escrow.WalletTaskQueue(in.Name)),
			zap.String("url", in.URL), zap.String("wallet_dir", in.WalletDir), zap.String("added", "grown"))
	}
	return nil
}

// feeDaemon is the monerod the wallet steps ask for the fee per byte, which sets what is dust
// (the block watcher's daemon, which the instances follow too); nil without one.
func (w *Worker) feeDaemon() *walletrpc.Daemon {
	if w.cfg.DaemonURL == "" {
		return nil
	}
	return walletrpc.NewDaemon(walletrpc.Config{URL: w.cfg.DaemonURL, Timeout: w.timeout})
}
