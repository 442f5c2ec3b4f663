package worker

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/activities"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// ErrNoGrowth is a Grow that may add no instance (the pool is at its budget).
var ErrNoGrowth = errors.New("worker: the wallet-rpc pool may not grow")

// serve builds the Temporal worker of one instance's task queue, with its activities, and
// records the instance; the caller starts it.
func (w *Worker) serve(in Instance, pool *activities.Pool) (sdkworker.Worker, error) {
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
	if m := w.cfg.Metrics; m != nil {
		rpcCfg.Observe = m.ObserveRPC(in.Name)
		opts.Interceptors = []interceptor.WorkerInterceptor{m.StepWait(in.Name)}
		m.CountMismatches(in.Name, counters.Mismatches.Load)
		m.CountYields(in.Name, counters.Yields.Load)
	}
	rpc := walletrpc.New(rpcCfg)
	acts, err := activities.NewWallet(activities.WalletConfig{
		Instance: in.Name,
		RPC:      rpc,
		Dir:      in.WalletDir,
		Secret:   w.cfg.WalletSecret,
		Counters: counters,
		Pool:     pool,
		Backups:  backupsOf(w.cfg),
		Watches:  watchesOf(w.cfg),
		Host:     w.host,
	})
	if err != nil {
		return nil, err
	}
	ww := sdkworker.New(w.client, escrow.WalletTaskQueue(in.Name), opts)
	ww.RegisterActivity(acts)
	w.mu.Lock()
	w.rpcs[in.Name] = rpc
	w.counters[in.Name] = counters
	w.mu.Unlock()
	return ww, nil
}

// instanceNames returns the names of the instances this worker serves now.
func (w *Worker) instanceNames() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.names...)
}

// growIdleShare is the share of this host's cores below which the pool counts as idle, over
// growWindow: a pool that computes near the cores' limit gains nothing from more instances
// (each new one also costs a CPU-second for its first RSA key); a pool whose setups wait in
// purge timers does. The window spans several steps of a setup, so the pauses between them
// (Temporal round trips, lease waits) do not read as idleness.
const (
	growIdleShare = 0.5
	growWindow    = 10 * time.Second
)

// poolSample is the pool's CPU time at one heartbeat.
type poolSample struct {
	at  time.Time
	cpu float64
}

// maybeGrow runs on every heartbeat: when setups wait for a lease, no setup fits in the
// deployment's free instances, and this host's pool used less than growIdleShare of the
// cores since the last heartbeat (its leases are held through timers, not computing), it
// asks Config.Grow for one setup's worth of instances per waiting setup (at most two at a
// time), serves them, announces them, and wakes the oldest waiters they fit. At most one
// grow runs at a time; it never blocks the heartbeat.
func (w *Worker) maybeGrow(ctx context.Context) {
	if w.cfg.Grow == nil || w.pool == nil || !w.poolIdle() || !w.growing.CompareAndSwap(false, true) {
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

// poolIdle reports whether the pool used less than growIdleShare of the cores over the last
// growWindow of heartbeats. Without PoolStats it cannot tell, and counts as idle.
func (w *Worker) poolIdle() bool {
	if w.cfg.PoolStats == nil {
		return true
	}
	now := poolSample{at: time.Now(), cpu: w.cfg.PoolStats().CPUSeconds}
	w.poolSamples = append(w.poolSamples, now)
	// Keep the newest sample at least growWindow old, and the ones after it.
	for len(w.poolSamples) > 2 && now.at.Sub(w.poolSamples[1].at) >= growWindow {
		w.poolSamples = w.poolSamples[1:]
	}
	old := w.poolSamples[0]
	span := now.at.Sub(old.at)
	if span < growWindow {
		return false // not a whole window yet
	}
	return (now.cpu-old.cpu)/span.Seconds() < growIdleShare*float64(runtime.NumCPU())
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
