// Command worker runs the escrow workflows and one task queue per monero-wallet-rpc
// instance.
//
//	worker --wallet-rpc name=rpc-1,url=http://127.0.0.1:18083,dir=/var/lib/xmr-escrow/rpc-1 ...
//
// Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, XMR_ESCROW_WALLET_RPCS,
// XMR_ESCROW_WALLET_SECRET (or _FILE), XMR_ESCROW_KEYS, XMR_ESCROW_DATABASE_URL,
// XMR_ESCROW_LOG_LEVEL, XMR_ESCROW_LOG_FORMAT.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/keyring"
	"github.com/xmr-escrow/xmr-escrow/logging"
	"github.com/xmr-escrow/xmr-escrow/store"
	"github.com/xmr-escrow/xmr-escrow/temporalclient"
	"github.com/xmr-escrow/xmr-escrow/worker"
)

type specs []string

func (s *specs) String() string     { return strings.Join(*s, ";") }
func (s *specs) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		rpcs        specs
		address     = flag.String("address", "", "Temporal frontend host:port (default $TEMPORAL_ADDRESS or "+temporalclient.DefaultHostPort+")")
		namespace   = flag.String("namespace", "", "Temporal namespace (default $TEMPORAL_NAMESPACE or default)")
		configPath  = flag.String("config", "", "JSON config file with the wallet-rpc instances")
		walletsOnly = flag.Bool("wallets-only", false, "serve only the wallet-rpc task queues (a participant's own worker)")
		dsn         = flag.String("database", store.DSNFromEnv(), "PostgreSQL URL of the escrow projection ($"+store.EnvDSN+")")
	)
	flag.Var(&rpcs, "wallet-rpc", "a wallet-rpc instance: name=N,url=U,dir=D[,user=U,password-file=F] (repeatable)")
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
	if cfg.WalletSecret, err = worker.SecretFromEnv(); err != nil {
		return err
	}

	keys, err := keyring.FromEnv()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !cfg.WalletsOnly {
		if cfg.Store, err = store.Open(ctx, *dsn, keys); err != nil {
			return err
		}
		defer cfg.Store.Close()
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	c, err := temporalclient.Dial(ctx, temporalclient.Options{HostPort: *address, Namespace: *namespace, Logger: z, Keys: keys})
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := worker.New(c, cfg)
	if err != nil {
		return err
	}
	for _, in := range cfg.Instances {
		z.Info("serving wallet-rpc", zap.String("instance", in.Name), zap.String("url", in.URL), zap.String("wallet_dir", in.WalletDir))
	}
	return w.Run(ctx)
}
