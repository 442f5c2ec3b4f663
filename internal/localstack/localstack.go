// Package localstack runs the whole product on one machine from real parts: a Temporal dev
// server, a pool of monero-wallet-rpc processes and the worker, in this process. `make run`
// and the integration tests both stand on it.
package localstack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/codec"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/app"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/metrics"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/internal/supervisor"
	"github.com/xmr-escrow/xmr-escrow/internal/temporalclient"
	"github.com/xmr-escrow/xmr-escrow/keyring"
	"github.com/xmr-escrow/xmr-escrow/starter"
	"github.com/xmr-escrow/xmr-escrow/worker"
)

// Options shapes a local stack. Zero ports are picked free.
type Options struct {
	// Dir holds everything the stack writes: the Temporal database, wallets, logs.
	Dir string
	// WalletRPCs is the size of the wallet-rpc pool; default 3.
	WalletRPCs int
	// WalletRPCsMax lets the pool grow to this many instances while setups wait for a
	// lease (supervisor.Grow); 0 or WalletRPCs keeps it fixed.
	WalletRPCsMax int
	// WalletRPCMemoryBudget also bounds growth by resident memory (bytes); 0: none.
	WalletRPCMemoryBudget int64
	// NoBlockWatcher leaves the block watcher off even with a Chain: the escrows then learn
	// of payments from their polls alone.
	NoBlockWatcher bool
	// BlockWatcherURL is the block watcher's monerod RPC URL; default the Chain's daemon.
	BlockWatcherURL string
	// BlockWatcherPoll is worker.Config.BlockWatcherPoll (default 2 s).
	BlockWatcherPoll time.Duration
	// NoKeyCache runs the pool's wallet-rpcs without the key cache (for comparisons).
	NoKeyCache bool
	// TemporalPort and UIPort fix the dev server's ports (make run uses 7233 and 8233).
	TemporalPort, UIPort int
	// WalletRPCBasePort, if set, gives the pool the ports base, base+1, ...
	WalletRPCBasePort int
	// Headless runs the dev server without its Web UI.
	Headless bool
	// WalletSecret derives wallet passwords; nil means a fresh random one.
	WalletSecret []byte
	// Logger receives the worker's and SDK's logs; nil discards them.
	Logger *zap.Logger
	// DatabaseURL is the PostgreSQL database of the projection (required; it must exist).
	DatabaseURL string
	// Keys encrypt Temporal payloads and the projection's secrets; nil means fresh ones.
	Keys *keyring.Keyring
	// CodecPort is the codec server's port (make run uses 8089); 0 picks a free one.
	CodecPort int
	// Chain, if set, connects the wallet-rpc pool to its monerod, so escrows can be funded
	// and paid out; without it the pool runs --offline (enough for the setup alone).
	Chain *devstack.Chain
	// DaemonAddress, if set, replaces the chain's monerod address for the pool: tests put a
	// fault-injecting proxy in between.
	DaemonAddress string
	// MetricsPort is the worker's Prometheus port (make run uses 9090); 0 picks a free one.
	MetricsPort int
	// NextForkHeight is the worker's setting for the next hard fork's height (0: none).
	NextForkHeight uint64
	// Temporal, if set, is a Temporal cluster to run on (address, namespace, TLS) instead
	// of a dev server started here: the tests' production-shaped cluster
	// (devstack.StartCluster). TEMPORAL_* variables and profiles never apply either way: a
	// developer's settings for another cluster must not reach the stack's own.
	Temporal *temporalclient.Options
}

// Stack is a running local stack.
type Stack struct {
	// DatabaseURL is the projection's database, for an out-of-process worker.
	DatabaseURL string
	// CodecURL is the codec server the Web UI decodes payloads with.
	CodecURL string
	// MetricsURL is the worker's Prometheus endpoint.
	MetricsURL string
	Metrics    *metrics.Metrics
	Keys       *keyring.Keyring
	Store      *store.Store
	Temporal   *devstack.Temporal
	// Pool supervises the wallet-rpc processes (restarting one that dies); RPCs describes them,
	// named by their wallet dirs' instance IDs (random per stack, not "rpc-N").
	Pool    *supervisor.Supervisor
	RPCs    []worker.Instance
	Client  client.Client
	Starter *starter.Client
	Worker  *worker.Worker

	app *app.App

	stopCodec context.CancelFunc
	codecDone chan struct{}
}

// Start brings the stack up; on error it tears down what it started.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.Dir == "" {
		return nil, errors.New("localstack: Dir is required")
	}
	if o.WalletRPCs == 0 {
		o.WalletRPCs = 3
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	s := &Stack{}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if s.Keys = o.Keys; s.Keys == nil {
		if s.Keys, _, err = keyring.Generate("local"); err != nil {
			return nil, err
		}
	}
	s.DatabaseURL = o.DatabaseURL
	uiPort := o.UIPort
	if uiPort == 0 && !o.Headless {
		if uiPort, err = devstack.FreePort(); err != nil {
			return nil, err
		}
	}
	if err = s.startCodec(o.CodecPort, uiPort); err != nil {
		return nil, err
	}
	conn, err := s.startTemporal(ctx, o, uiPort)
	if err != nil {
		return nil, err
	}
	secret := o.WalletSecret
	if secret == nil {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("wallet secret: %w", err)
		}
	}
	// The same wiring as cmd/worker (internal/app), but the wallet dirs are locked by each
	// worker while it runs, not for the stack's life: tests stop the in-process worker and hand
	// its dirs to a worker process.
	ao := app.Options{
		Worker:      worker.Config{WalletSecret: secret, NextForkHeight: o.NextForkHeight, Namespace: conn.Namespace},
		Spawn:       s.poolOptions(o),
		DatabaseURL: o.DatabaseURL, Keys: s.Keys, Logger: o.Logger,
		Temporal:      temporalclient.Options{HostPort: conn.HostPort, Namespace: conn.Namespace, TLS: conn.TLS, IgnoreEnvironment: true},
		MetricsListen: fmt.Sprintf("127.0.0.1:%d", o.MetricsPort), CountEvery: 5 * time.Second,
	}
	if o.BlockWatcherURL == "" && o.Chain != nil {
		// The chain's own daemon, even when the pool goes through a proxy: the watcher
		// must see blocks when a test cuts the wallets off.
		o.BlockWatcherURL = "http://" + o.Chain.Daemon.Address
	}
	if !o.NoBlockWatcher {
		ao.Worker.DaemonURL, ao.Worker.BlockWatcherPoll = o.BlockWatcherURL, o.BlockWatcherPoll
	}
	if s.app, err = app.Build(ctx, ao); err != nil {
		return nil, err
	}
	s.Store, s.Pool, s.Client, s.Metrics, s.MetricsURL = s.app.Store, s.app.Pool, s.app.Client, s.app.Metrics, s.app.MetricsURL
	s.RPCs = s.Pool.Instances()
	s.Starter = starter.New(s.Client, s.Store, starter.WithDataConverter(codec.DataConverter(s.Keys)))
	if err = s.StartWorker(); err != nil {
		return nil, err
	}
	return s, nil
}

// poolOptions are the supervised wallet-rpc pool's: on the chain's monerod (or the proxy a
// test puts in front of it), or --offline without a chain.
func (s *Stack) poolOptions(o Options) *supervisor.Options {
	pool := &supervisor.Options{Count: o.WalletRPCs, Dir: filepath.Join(o.Dir, "wallet-rpc"), BasePort: o.WalletRPCBasePort, NoLogin: true,
		Max: o.WalletRPCsMax, MemoryBudget: o.WalletRPCMemoryBudget, NoKeyCache: o.NoKeyCache}
	if o.Chain != nil {
		// The same options the chain gives its own wallets: trusted daemon, plain HTTP, regtest.
		co := o.Chain.WalletRPCOptions("", "")
		pool.DaemonAddress, pool.RegtestDaemon, pool.ExtraArgs = co.DaemonAddress, co.RegtestDaemon, co.ExtraArgs
		if o.DaemonAddress != "" {
			pool.DaemonAddress = o.DaemonAddress
		}
	}
	return pool
}

// startTemporal starts the dev server, unless o.Temporal names a cluster, and says how to
// reach whichever it is.
func (s *Stack) startTemporal(ctx context.Context, o Options, uiPort int) (temporalclient.Options, error) {
	if o.Temporal != nil {
		return *o.Temporal, nil
	}
	var err error
	if s.Temporal, err = devstack.StartTemporal(ctx, devstack.TemporalOptions{
		Dir:              filepath.Join(o.Dir, "temporal"),
		Port:             o.TemporalPort,
		UIPort:           uiPort,
		Headless:         o.Headless,
		SearchAttributes: escrow.SearchAttributeTypes,
		CodecEndpoint:    s.CodecURL,
	}); err != nil {
		return temporalclient.Options{}, err
	}
	return temporalclient.Options{HostPort: s.Temporal.HostPort, Namespace: s.Temporal.Namespace}, nil
}

// StartWorker (re)starts the in-process worker, as after a crash.
func (s *Stack) StartWorker() error {
	w, err := s.app.Worker()
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return err
	}
	s.RPCs = s.app.Config.Instances
	s.Worker = w
	return nil
}

// StopWorker stops the in-process worker.
func (s *Stack) StopWorker() {
	if s.Worker != nil {
		s.Worker.Stop()
		s.Worker = nil
	}
}

// Stop tears everything down: worker, client, store, wallet-rpcs (which store their open
// wallet), then the dev server.
func (s *Stack) Stop() {
	s.StopWorker()
	if s.app != nil {
		s.app.Close()
	}
	if s.Temporal != nil {
		_ = s.Temporal.Stop()
	}
	if s.stopCodec != nil {
		s.stopCodec()
		<-s.codecDone
	}
}

// startCodec serves the codec endpoint in this process, on loopback, for the namespace and
// the Web UI's origin only.
func (s *Stack) startCodec(port, uiPort int) error {
	origins := []string{}
	if uiPort != 0 {
		origins = append(origins, fmt.Sprintf("http://127.0.0.1:%d", uiPort), fmt.Sprintf("http://localhost:%d", uiPort))
	}
	h, err := codec.NewHandler(s.Keys, codec.ServerOptions{Namespace: temporalclient.DefaultNamespace, AllowedOrigins: origins})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("codec server: %w", err)
	}
	s.CodecURL = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	s.stopCodec, s.codecDone = cancel, make(chan struct{})
	go func() {
		defer close(s.codecDone)
		// Serve returns when Stop cancels ctx; a local stack that is stopping has no use for
		// its error, and a codec server that failed earlier shows in the Web UI's decoding.
		_ = codec.Serve(ctx, ln, h)
	}()
	return nil
}
