// Command worker runs the escrow workflows and one task queue per monero-wallet-rpc
// instance.
//
//	worker --wallet-rpc name=rpc-1,url=http://127.0.0.1:18083,dir=/var/lib/xmr-escrow/rpc-1 ...
//
// Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS,
// TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH,
// TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE (package
// temporalclient; flags --tls-ca, --tls-cert, --tls-key, --tls-server-name, --api-key-file,
// --profile), XMR_ESCROW_WALLET_RPCS, XMR_ESCROW_WALLET_SECRET (or _FILE), XMR_ESCROW_KEYS,
// XMR_ESCROW_DATABASE_URL, XMR_ESCROW_METRICS_LISTEN, XMR_ESCROW_LOG_LEVEL,
// XMR_ESCROW_LOG_FORMAT, XMR_ESCROW_TAKEOVER_WAIT.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xmr-escrow/xmr-escrow/internal/app"
	"github.com/xmr-escrow/xmr-escrow/internal/logging"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/internal/supervisor"
	"github.com/xmr-escrow/xmr-escrow/internal/temporalclient"
	"github.com/xmr-escrow/xmr-escrow/keyring"
	"github.com/xmr-escrow/xmr-escrow/worker"
)

type specs []string

// String joins the specs, for flag.Value.
func (s *specs) String() string { return strings.Join(*s, ";") }

// Set adds one spec, for flag.Value.
func (s *specs) Set(v string) error { *s = append(*s, v); return nil }

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// envDuration reads a duration flag's default from the environment; a bad value is
// reported by flag parsing's usage when it is set explicitly, and treated as 0 here.
func envDuration(key string) time.Duration {
	d, _ := time.ParseDuration(os.Getenv(key))
	return d
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		rpcs        specs
		conn        temporalclient.Options
		configPath  = flag.String("config", "", "JSON config file with the wallet-rpc instances")
		walletsOnly = flag.Bool("wallets-only", false, "serve only the wallet-rpc task queues (a participant's own worker)")
		dsn         = flag.String("database", store.DSNFromEnv(), "PostgreSQL URL of the escrow projection ($"+store.EnvDSN+")")
		metricsAddr = flag.String("metrics-listen", envOr("XMR_ESCROW_METRICS_LISTEN", "127.0.0.1:9090"), "Prometheus /metrics address; empty disables")
		spawn       = flag.Int("spawn-wallet-rpcs", 0, "run and supervise this many monero-wallet-rpc processes besides any --wallet-rpc (wallet dirs SPAWN-DIR/rpc-1..N; each is named by the instance ID its dir records)")
		spawnDir    = flag.String("spawn-dir", "wallets", "with --spawn-wallet-rpcs: folder of their wallet dirs and logs")
		spawnPort   = flag.Int("spawn-base-port", 18083, "with --spawn-wallet-rpcs: first RPC port (127.0.0.1); 0 picks free ports")
		spawnMax    = flag.Int("spawn-max", 0, "with --spawn-wallet-rpcs: grow the pool up to this many wallet-rpcs while setups wait for a lease, so purge timers cost no throughput (0: four times --spawn-wallet-rpcs; equal to it: a fixed pool); grown instances stay, their dirs hold wallets")
		spawnMemory = flag.Int64("spawn-memory-budget-mib", 0, "with --spawn-max: also stop growing when the wallet-rpcs' resident memory would pass this many MiB (0: no memory bound; ~40 MiB each)")
		spawnDaemon = flag.String("spawn-daemon-address", "", "with --spawn-wallet-rpcs: monerod host:port (trusted); empty runs them --offline (setup only)")
		regtest     = flag.Bool("spawn-regtest-daemon", false, "with --spawn-daemon-address: that monerod is a private regtest chain; the wallet-rpcs get --allow-mismatched-daemon-version, without which 0.18.2.0 and later refuse to refresh from it (never for a real network)")
		watchDaemon = flag.String("watch-daemon", os.Getenv("XMR_ESCROW_DAEMON_URL"), "monerod RPC URL for the block watcher, which scans each block for escrows awaiting payment (one replica per namespace leads); default $XMR_ESCROW_DAEMON_URL, else http://<--spawn-daemon-address>; \"off\" disables")
		hostName    = flag.String("host-name", "", "this worker's failure domain, where its wallet dirs' disk is; a setup puts its three roles on three hosts when there are three (default $"+worker.EnvHost+" or the hostname)")
		takeover    = flag.Duration("takeover-wait", envDuration("XMR_ESCROW_TAKEOVER_WAIT"), "wait this long for another worker to release the wallet dirs instead of refusing at once (a rolling deploy on one host; $XMR_ESCROW_TAKEOVER_WAIT)")
		nextFork    = flag.String("next-fork-height", os.Getenv(worker.EnvNextForkHeight), "the next hard fork's height: new escrows that could run past it are refused (docs/operations.md, \"Before a hard fork\"); default $"+worker.EnvNextForkHeight+", else monerod's schedule")
	)
	flag.Var(&rpcs, "wallet-rpc", "a wallet-rpc instance: name=N,url=U,dir=D[,user=U,password-file=F] (repeatable)")
	flag.StringVar(&conn.HostPort, "address", "", "Temporal frontend host:port (default $TEMPORAL_ADDRESS, the profile, or "+temporalclient.DefaultHostPort+")")
	flag.StringVar(&conn.Namespace, "namespace", "", "Temporal namespace (default $TEMPORAL_NAMESPACE, the profile, or "+temporalclient.DefaultNamespace+")")
	conn.RegisterFlags(flag.CommandLine)
	flag.Parse()

	z, err := logging.NewFromEnv()
	if err != nil {
		return err
	}
	defer z.Sync() //nolint:errcheck // stderr sync fails on terminals

	var cfg worker.Config
	if *configPath != "" {
		if cfg, err = worker.LoadFile(*configPath); err != nil {
			return err
		}
	}
	all := append([]string{os.Getenv(worker.EnvWalletRPCs)}, rpcs...)
	for _, s := range all {
		ins, err := worker.ParseInstances(s)
		if err != nil {
			return err
		}
		cfg.Instances = append(cfg.Instances, ins...)
	}
	cfg.WalletsOnly = cfg.WalletsOnly || *walletsOnly
	cfg.DaemonURL = watcherURL(*watchDaemon, *spawnDaemon)
	if *nextFork != "" {
		if cfg.NextForkHeight, err = strconv.ParseUint(*nextFork, 10, 64); err != nil {
			return fmt.Errorf("--next-fork-height %q is not a block height: %w", *nextFork, err)
		}
	}
	// The block watcher's namespace is the one the client dials, profile included.
	conn = conn.FromEnv()
	cfg.Namespace = conn.Namespace
	if *hostName != "" {
		cfg.Host = *hostName
	}
	if cfg.WalletSecret, err = worker.SecretFromEnv(); err != nil {
		return err
	}

	keys, err := keyring.FromEnv()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := app.Options{Worker: cfg, DatabaseURL: *dsn, Keys: keys, Temporal: conn, MetricsListen: *metricsAddr,
		TakeoverWait: *takeover, HoldWalletDirs: true, Logger: z}
	if *spawn > 0 {
		o.Spawn = &supervisor.Options{Count: *spawn, Dir: *spawnDir, BasePort: *spawnPort, DaemonAddress: *spawnDaemon, RegtestDaemon: *regtest,
			Max: growTo(*spawn, *spawnMax), MemoryBudget: *spawnMemory << 20}
	}
	a, err := app.Build(ctx, o)
	if err != nil {
		return err
	}
	defer a.Close()
	w, err := a.Worker()
	if err != nil {
		return err
	}
	return w.Run(ctx)
}

// growTo is the size a spawned pool may grow to: --spawn-max, or by default four times its
// start, which is what keeps the CPU busy through two 10 s purge timers (docs/benchmark.md).
func growTo(spawn, spawnMax int) int {
	if spawnMax == 0 {
		return 4 * spawn
	}
	return spawnMax
}

// watcherURL is the block watcher's monerod: --watch-daemon, or the spawned pool's daemon.
func watcherURL(flagValue, spawnDaemon string) string {
	switch {
	case flagValue == "off":
		return ""
	case flagValue != "":
		return flagValue
	case spawnDaemon != "":
		return "http://" + spawnDaemon
	}
	return ""
}
