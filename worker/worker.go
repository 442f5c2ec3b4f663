// Package worker hosts the escrow task queue and one task queue per wallet-rpc instance.
// Each instance's queue is served with at most one activity at a time within this process,
// and a flock on the instance's wallet dir (ownership.go) keeps every other process off it:
// Temporal limits concurrency per worker process, not per task queue.
package worker

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/activities/placement"
	"github.com/xmr-escrow/xmr-escrow/activities/projection"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/metrics"
	"github.com/xmr-escrow/xmr-escrow/internal/rpcinstance"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/internal/watcher"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
	"github.com/xmr-escrow/xmr-escrow/workflows"
)

// Worker is the set of Temporal workers one process runs.
type Worker struct {
	workers  []sdkworker.Worker
	client   client.Client
	pool     *placement.Pool
	rpcs     map[string]*walletrpc.Client
	log      *zap.Logger
	counters map[string]*activities.Counters
	// own is released by Stop only if New made it (ownOwned); a caller's is the caller's.
	own      *rpcinstance.Ownership
	ownOwned bool
	store    *store.Store
	// fatal receives the first fatal error of any SDK worker (a deleted namespace, lost
	// permissions): Run returns it, so the process exits instead of idling while alive.
	fatal chan error
	// place announces the instances in the lease table all hosts share; nil without a
	// store, when the pool leases from memory.
	place   *announcer
	metrics *metrics.Metrics
	// mu guards workers, names, counters and rpcs, which grow (grow.go) extends while running.
	mu    sync.Mutex
	names []string
	// cfg, host and timeout are kept to serve instances added later.
	cfg     Config
	host    string
	timeout time.Duration
	// growing is set while a grow is in flight, so heartbeats never start two; trackers say
	// which instances run steps (idle.go).
	growing  atomic.Bool
	trackers []*stepTracker
	// running is set once Start started the workers; later instances start at once.
	running bool
	// watcher is this process's block-watcher replica (blockwatch.go), if configured.
	watcher     *watcher.Watcher
	stopWatcher context.CancelFunc
	watcherDone sync.WaitGroup
}

// New builds (but does not start) the workers for cfg. It first takes ownership of every
// instance's wallet dir, so nothing polls a queue unless this process alone serves it, and
// checks each name against the dir's instance ID, so a dir's queue never changes. It refuses
// with an *OwnedError naming the holder or a *NameMismatchError, and then holds no lock it took.
func New(c client.Client, cfg Config) (_ *Worker, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &Worker{counters: map[string]*activities.Counters{}, own: cfg.Ownership, client: c, rpcs: map[string]*walletrpc.Client{}, store: cfg.Store, fatal: make(chan error, 1)}
	if w.own == nil {
		w.own, w.ownOwned = rpcinstance.NewOwnership(cfg.Logger), true
	}
	if err := w.own.Bind(cfg.Instances); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && w.ownOwned {
			w.own.Release()
		}
	}()
	timeout := cfg.RPCTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	names := make([]string, 0, len(cfg.Instances))
	for _, in := range cfg.Instances {
		names = append(names, in.Name)
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	host := cfg.Host
	if host == "" {
		host = DefaultHost()
	}
	w.names, w.metrics = names, cfg.Metrics
	var pool *placement.Pool
	if !cfg.WalletsOnly {
		var err error
		if pool, err = placement.New(names); err != nil {
			return nil, err
		}
		if cfg.Healthy != nil {
			pool.SetHealth(cfg.Healthy)
		}
		pool.SetWake(w.wake)
		pool.SetHost(host)
		if cfg.Store != nil {
			pool.Share(cfg.Store, liveFor)
			w.place = &announcer{store: cfg.Store, host: host, log: log, beats: func() []store.InstanceBeat {
				names := w.instanceNames()
				out := make([]store.InstanceBeat, 0, len(names))
				for _, n := range names {
					out = append(out, store.InstanceBeat{Instance: n, Healthy: cfg.Healthy == nil || cfg.Healthy(n), Accepting: true})
				}
				return out
			}}
		}
	}
	w.cfg, w.host, w.timeout, w.log = cfg, host, timeout, log
	for _, in := range cfg.Instances {
		ww, err := w.serve(in, pool)
		if err != nil {
			return nil, err
		}
		w.workers = append(w.workers, ww)
	}
	w.pool, w.log = pool, log
	w.newWatcher()
	log.Info("wallet-rpc placement", zap.String("host", host), zap.Bool("shared", w.place != nil))
	for _, in := range cfg.Instances {
		id, _ := w.own.Identity(in.WalletDir)
		log.Info("serving wallet-rpc", zap.String("instance", in.Name), zap.String("task_queue", escrow.WalletTaskQueue(in.Name)),
			zap.String("url", in.URL), zap.String("wallet_dir", in.WalletDir), zap.String("instance_id", string(id.Source)))
	}
	if pool != nil {
		ew := sdkworker.New(c, escrow.EscrowTaskQueue, sdkworker.Options{OnFatalError: w.onFatal})
		ew.RegisterWorkflowWithOptions(workflows.Escrow, workflow.RegisterOptions{Name: escrow.WorkflowType})
		ew.RegisterActivity(pool.AssignWalletRPCs)
		ew.RegisterActivity(projection.New(cfg.Store))
		ew.RegisterActivity(activities.NewChain(w.feeDaemon(), cfg.NextForkHeight))
		w.workers = append(w.workers, ew)
	}
	return w, nil
}

// Start starts every worker, or none. A failed Worker also gives up the wallet dirs New
// took, so a retry (with a new Worker) or another process can have them.
func (w *Worker) Start() error {
	if w.place != nil {
		// Leases live in the shared table and outlive this process: nothing to rebuild.
		w.place.start(w.placementGauges, w.maybeGrow)
	} else {
		w.restoreLeases()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, ww := range w.workers {
		if err := ww.Start(); err != nil {
			if w.place != nil {
				w.place.retire(w.names) // w.mu is held
			}
			for _, started := range w.workers[:i] {
				started.Stop()
			}
			if w.ownOwned {
				w.own.Release()
			}
			return fmt.Errorf("start worker: %w", err)
		}
	}
	w.running = true
	w.startWatcher()
	return nil
}

// Stop stops every worker; running activities get WorkerStopTimeout to finish. Only then
// are the wallet dirs released, so a successor does not start polling while a step of
// ours may still be talking to the wallet-rpc.
func (w *Worker) Stop() {
	if w.place != nil {
		w.place.retire(w.instanceNames()) // first, so no new setup is placed here while it stops
	}
	w.stopWatcherAndWait()
	w.mu.Lock()
	workers := w.workers
	w.mu.Unlock()
	for _, ww := range workers {
		ww.Stop()
	}
	if w.ownOwned {
		w.own.Release()
	}
}

// Run starts the workers and blocks until ctx is done (returning nil) or one of them stops on
// a fatal error (returning it), as the SDK's own Run does; either way every worker stops.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.Start(); err != nil {
		return err
	}
	if w.store != nil {
		go w.purgeBackups(ctx, time.Hour)
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-w.fatal:
		w.log.Error("a Temporal worker stopped on a fatal error; stopping them all", zap.Error(err))
	}
	w.Stop()
	return err
}

// onFatal keeps the first fatal error for Run; later ones add nothing an operator needs.
func (w *Worker) onFatal(err error) {
	select {
	case w.fatal <- fmt.Errorf("temporal worker: %w", err):
	default:
	}
}

// InstanceStats is one instance's count of expensive calls.
type InstanceStats struct {
	Instance string `json:"instance"`
	Opens    int64  `json:"opens"`
	Creates  int64  `json:"creates"`
	// Mismatches counts steps that found another wallet open than the one they expected.
	Mismatches int64 `json:"mismatches"`
}

// Stats returns the expensive-call counts of every instance, sorted by name.
func (w *Worker) Stats() []InstanceStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]InstanceStats, 0, len(w.counters))
	for name, c := range w.counters {
		out = append(out, InstanceStats{Instance: name, Opens: c.Opens.Load(), Creates: c.Creates.Load(), Mismatches: c.Mismatches.Load()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Instance < out[j].Instance })
	return out
}
