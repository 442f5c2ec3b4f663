// Command devrun is `make run`: it starts a regtest monerod with a mined funding wallet, a
// Temporal dev server (Web UI on 127.0.0.1:8233, decoding through the codec server), the
// PostgreSQL projection, three monero-wallet-rpc processes and the worker; then it walks one
// escrow from order to release, printing each step, and keeps the stack up for browsing
// until Ctrl-C, which stops everything it started.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/localstack"
	"github.com/xmr-escrow/xmr-escrow/internal/logging"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/keyring"
	"github.com/xmr-escrow/xmr-escrow/worker"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devrun:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		dir      = flag.String("dir", ".data", "folder for everything the stack writes (Temporal database, wallets, logs)")
		id       = flag.String("escrow-id", "", "escrow ID of the demo setup (default demo-<time>)")
		delay    = flag.Duration("purge-delay", escrow.DefaultPurgeDelay, "durable wait between key-exchange rounds")
		port     = flag.Int("temporal-port", 7233, "Temporal gRPC port on 127.0.0.1")
		uiPort   = flag.Int("ui-port", 8233, "Temporal Web UI port on 127.0.0.1")
		rpcPort  = flag.Int("wallet-rpc-port", 18083, "first wallet-rpc port on 127.0.0.1 (three consecutive ports)")
		exit     = flag.Bool("exit", false, "stop the stack once the escrow ends instead of waiting for Ctrl-C")
		logLevel = flag.String("log-level", "warn", "worker log level")
		dsn      = flag.String("database", store.DSNFromEnv(), "PostgreSQL URL of the escrow projection (created if missing; $"+store.EnvDSN+")")
		codecPrt = flag.Int("codec-port", 8089, "codec server port on 127.0.0.1 (the Web UI decodes payloads through it)")
		metrPort = flag.Int("metrics-port", 9090, "worker's Prometheus /metrics port on 127.0.0.1")
	)
	flag.Parse()
	if *id == "" {
		*id = "demo-" + time.Now().UTC().Format("20060102-150405")
	}
	if err := escrow.ValidateID(*id); err != nil {
		return err
	}
	z, err := logging.New(*logLevel, false)
	if err != nil {
		return err
	}
	defer z.Sync() //nolint:errcheck // stderr sync fails on terminals

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	fmt.Printf("starting the local stack under %s: monerod --regtest (mining %d blocks), Temporal dev server, PostgreSQL projection, codec server, 3 wallet-rpc, worker...\n", abs, devstack.SpendableBlocks)
	secret, err := loadOrCreate(filepath.Join(abs, "wallet-secret"), func() (string, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return hex.EncodeToString(b), err
	})
	if err != nil {
		return err
	}
	walletSecret, err := worker.DecodeSecret(secret)
	if err != nil {
		return err
	}
	keySpec, err := loadOrCreate(filepath.Join(abs, "payload-keys"), func() (string, error) {
		_, spec, err := keyring.Generate("local1")
		return spec, err
	})
	if err != nil {
		return err
	}
	keys, err := keyring.Parse(keySpec)
	if err != nil {
		return err
	}
	if err := localstack.EnsureDatabase(ctx, *dsn); err != nil {
		return err
	}
	// monerod wipes a regtest chain at start, so last run's funding wallet is worthless.
	if err := os.RemoveAll(filepath.Join(abs, "chain")); err != nil {
		return err
	}
	chain, err := devstack.StartChain(ctx, filepath.Join(abs, "chain"), devstack.SpendableBlocks)
	if err != nil {
		return err
	}
	defer func() { _ = chain.Stop() }() // best effort on the way out
	s, err := localstack.Start(ctx, localstack.Options{
		Dir: abs, TemporalPort: *port, UIPort: *uiPort, WalletRPCBasePort: *rpcPort, Logger: z,
		WalletSecret: walletSecret, Keys: keys, DatabaseURL: *dsn, CodecPort: *codecPrt, Chain: chain, MetricsPort: *metrPort,
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("stopping the local stack...")
		s.Stop()
	}()
	fmt.Printf("monerod --regtest at %s, funding wallet %.12s…\n", chain.Daemon.URL, chain.FunderAddress)
	fmt.Printf("worker metrics at %s\n", s.MetricsURL)
	fmt.Printf("Temporal %s, Web UI %s (decodes through the codec server %s)\n", s.Temporal.HostPort, s.Temporal.UIURL, s.CodecURL)
	for _, r := range s.RPCs {
		fmt.Printf("wallet-rpc %s at %s, wallets in %s\n", r.Name, r.URL, r.WalletDir)
	}

	d := &demo{s: s, chain: chain, id: *id, delay: *delay}
	if err := d.run(ctx); err != nil {
		return err
	}
	if *exit {
		return nil
	}
	fmt.Println("the stack stays up for the Web UI; Ctrl-C stops it")
	<-ctx.Done()
	return nil
}

// loadOrCreate keeps a secret of the local stack in a 0600 file, so wallets and histories
// of earlier runs stay readable.
func loadOrCreate(path string, create func() (string, error)) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return string(b), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	v, err := create()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(v), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return v, nil
}
