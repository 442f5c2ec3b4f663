// Package app is the one place that wires a worker process from its parts: the wallet dirs'
// owner, the supervised wallet-rpc pool, the projection's database, the metrics endpoint, the
// Temporal client and the checks that refuse a worker before it polls a queue. cmd/worker
// runs it in production; localstack (make run, the integration tests, cmd/devrun and the
// benchmark) runs the same graph, so what the tests exercise is what production starts.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/internal/metrics"
	"github.com/xmr-escrow/xmr-escrow/internal/rpcinstance"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/internal/store/schema"
	"github.com/xmr-escrow/xmr-escrow/internal/supervisor"
	"github.com/xmr-escrow/xmr-escrow/internal/temporalclient"
	"github.com/xmr-escrow/xmr-escrow/keyring"
	"github.com/xmr-escrow/xmr-escrow/worker"
)

// Options is everything a worker process is built from.
type Options struct {
	// Worker is the worker's config: the instances it is given, the wallet secret, wallets-only,
	// host, fork height, block watcher. Build adds the spawned instances, the store, metrics,
	// health and growth.
	Worker worker.Config
	// Spawn, if set, runs and supervises a pool of wallet-rpc processes besides Worker.Instances.
	Spawn *supervisor.Options
	// DatabaseURL is the projection's PostgreSQL database; unused by a wallets-only worker.
	DatabaseURL string
	// Keys encrypt Temporal payloads and the projection's secrets.
	Keys *keyring.Keyring
	// Temporal says how to dial the cluster; Build adds the logger, keys and SDK metrics.
	Temporal temporalclient.Options
	// MetricsListen is the Prometheus endpoint's address; empty serves none.
	MetricsListen string
	// CountEvery is how often the escrow gauges are refreshed (default 30 s).
	CountEvery time.Duration
	// TakeoverWait is how long to wait for another worker to let go of the wallet dirs (a
	// rolling deploy on one host) before refusing; 0 refuses at once.
	TakeoverWait time.Duration
	// HoldWalletDirs locks the wallet dirs from Build to Close, before any wallet-rpc is
	// spawned, across worker restarts: production's one owner per wallet-rpc. Without it each
	// worker that Worker builds locks them while it runs, so a test can stop it and hand the
	// dirs to a worker process of its own.
	HoldWalletDirs bool
	// Logger receives the worker's and SDK's logs; nil discards them.
	Logger *zap.Logger
}

// App is a wired worker process: everything but the running worker, which Worker builds.
type App struct {
	// Config is the worker's config as Build completed it.
	Config worker.Config
	// Client is the Temporal client every worker of this process uses.
	Client client.Client
	// Pool supervises the spawned wallet-rpcs; nil without Options.Spawn.
	Pool *supervisor.Supervisor
	// Store is the projection; nil for a wallets-only worker.
	Store *store.Store
	// Metrics and MetricsURL are the Prometheus endpoint; nil and empty without MetricsListen.
	Metrics    *metrics.Metrics
	MetricsURL string

	// given are the instances the worker was given, besides the pool's.
	given   []worker.Instance
	own     *rpcinstance.Ownership
	stopBg  context.CancelFunc
	closers []func()
}

// Build wires the process and runs its refusals in the order an operator wants them: the
// wallet dirs' owner, the Monero release of every wallet-rpc, then the Temporal namespace.
// On error it closes what it opened.
func Build(ctx context.Context, o Options) (_ *App, err error) {
	log := o.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if o.Keys == nil {
		return nil, errors.New("app: Keys are required")
	}
	a := &App{Config: o.Worker, given: o.Worker.Instances}
	bg, stop := context.WithCancel(context.Background())
	a.stopBg = stop
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	a.Config.Logger = log
	if o.HoldWalletDirs {
		a.own = rpcinstance.NewOwnership(log)
		a.Config.Ownership = a.own
	}
	var keyCache worker.KeyCacheOf
	if o.Spawn != nil {
		if err = a.spawn(ctx, *o.Spawn, log, o.TakeoverWait); err != nil {
			return nil, err
		}
		keyCache = a.Pool.KeyCache
	}
	if !a.Config.WalletsOnly {
		if a.Store, err = schema.Open(ctx, o.DatabaseURL, o.Keys); err != nil {
			return nil, err
		}
		a.Config.Store = a.Store
		a.closers = append(a.closers, func() { _ = a.Store.Close() })
	}
	if err = a.Config.Validate(); err != nil {
		return nil, err
	}
	// Refuse before dialing Temporal: a second worker on the same instances, or a name that is
	// not the one its wallet dir records, must fail fast.
	if a.own != nil {
		if err = rpcinstance.AwaitOwnership(ctx, o.TakeoverWait, log, func() error { return a.own.Bind(a.Config.Instances) }); err != nil {
			return nil, err
		}
	}
	// So must a wallet-rpc older than the release the tests run. One log line per instance:
	// its Monero release and whether the key cache applies.
	if err = worker.CheckMoneroVersions(ctx, a.Config.Instances, keyCache, log); err != nil {
		return nil, err
	}
	if err = a.serveMetrics(bg, o.MetricsListen, log); err != nil {
		return nil, err
	}
	conn := o.Temporal
	conn.Logger, conn.Keys = log, o.Keys
	if a.Metrics != nil {
		conn.MetricsHandler = a.Metrics.SDK
	}
	if a.Client, err = temporalclient.Dial(ctx, conn); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.Client.Close)
	// Before any queue is polled: a namespace the escrows would fail in later is refused with
	// the commands that fix it.
	if err = worker.CheckNamespace(ctx, a.Client, worker.NamespaceCheck{Namespace: a.Config.Namespace, Keys: o.Keys, WalletsOnly: a.Config.WalletsOnly, Logger: log}); err != nil {
		return nil, err
	}
	if a.Metrics != nil && !a.Config.WalletsOnly {
		every := o.CountEvery
		if every == 0 {
			every = 30 * time.Second
		}
		go a.Metrics.CountEscrows(bg, a.Client, every)
	}
	return a, nil
}

// spawn starts the supervised pool and hands its instances, health and growth to the worker.
func (a *App) spawn(ctx context.Context, so supervisor.Options, log *zap.Logger, takeover time.Duration) error {
	so.Logger, so.Ownership, so.TakeoverWait = log, a.own, takeover
	sup, err := supervisor.Start(ctx, so)
	if err != nil {
		return err
	}
	a.Pool = sup
	a.closers = append(a.closers, sup.Stop)
	a.Config.Instances = append(a.Config.Instances, sup.Instances()...)
	a.Config.Healthy = healthy(sup)
	if so.Max > so.Count {
		a.Config.Grow = sup.Grow
	}
	a.Config.PoolStats = sup.Stats
	return nil
}

// healthy is the pool's view of its own processes; instances the worker was given are
// assumed up (their steps wait and retry if not).
func healthy(sup interface {
	Serves(string) bool
	Healthy(string) bool
}) func(string) bool {
	return func(name string) bool { return !sup.Serves(name) || sup.Healthy(name) }
}

// serveMetrics serves the Prometheus endpoint until the app closes.
func (a *App) serveMetrics(bg context.Context, listen string, log *zap.Logger) error {
	if listen == "" {
		return nil
	}
	m, err := metrics.New()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	a.Metrics, a.MetricsURL, a.Config.Metrics = m, "http://"+ln.Addr().String()+"/metrics", m
	go func() {
		if err := m.Serve(bg, ln); err != nil {
			log.Error("metrics server stopped", zap.Error(err))
		}
	}()
	log.Info("serving metrics", zap.String("url", a.MetricsURL))
	return nil
}

// Worker builds a worker from the app's config, with the instances a grown pool added since.
func (a *App) Worker() (*worker.Worker, error) {
	if a.Config.Grow != nil {
		a.Config.Instances = append(append([]worker.Instance(nil), a.given...), a.Pool.Instances()...)
	}
	return worker.New(a.Client, a.Config)
}

// Close stops what Build started, in reverse: the client, the store, then the wallet-rpcs
// (which store their open wallets), and only then gives up the wallet dirs.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
	if a.stopBg != nil {
		a.stopBg()
	}
	if a.own != nil {
		a.own.Release()
	}
}
