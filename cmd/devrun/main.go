// Command devrun is `make run`: it starts a Temporal dev server (Web UI on
// 127.0.0.1:8233), three monero-wallet-rpc processes and the worker, runs one escrow setup,
// prints each phase as it happens, the multisig address and the Web UI link, then keeps
// the stack up for browsing until Ctrl-C, which stops everything it started.
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
	"github.com/xmr-escrow/xmr-escrow/localstack"
	"github.com/xmr-escrow/xmr-escrow/logging"
	"github.com/xmr-escrow/xmr-escrow/worker"
	"github.com/xmr-escrow/xmr-escrow/workflows"
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
		delay    = flag.Duration("purge-delay", workflows.DefaultPurgeDelay, "durable wait between key-exchange rounds")
		port     = flag.Int("temporal-port", 7233, "Temporal gRPC port on 127.0.0.1")
		uiPort   = flag.Int("ui-port", 8233, "Temporal Web UI port on 127.0.0.1")
		rpcPort  = flag.Int("wallet-rpc-port", 18083, "first wallet-rpc port on 127.0.0.1 (three consecutive ports)")
		exit     = flag.Bool("exit", false, "stop the stack once the setup ends instead of waiting for Ctrl-C")
		logLevel = flag.String("log-level", "warn", "worker log level")
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
	fmt.Printf("starting the local stack under %s (Temporal dev server, 3 wallet-rpc, worker)...\n", abs)
	secret, err := loadOrCreateSecret(filepath.Join(abs, "wallet-secret"))
	if err != nil {
		return err
	}
	s, err := localstack.Start(ctx, localstack.Options{
		Dir: abs, TemporalPort: *port, UIPort: *uiPort, WalletRPCBasePort: *rpcPort, Logger: z,
		WalletSecret: secret,
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("stopping the local stack...")
		s.Stop()
	}()
	fmt.Printf("Temporal %s, Web UI %s\n", s.Temporal.HostPort, s.Temporal.UIURL)
	for _, r := range s.RPCs {
		fmt.Printf("wallet-rpc %s at %s, wallets in %s\n", r.Name, r.URL, r.Dir)
	}

	started := time.Now()
	runInfo, err := s.Starter.Start(ctx, workflows.EscrowInput{EscrowID: *id, PurgeDelay: delay})
	if err != nil {
		return err
	}
	link := s.Temporal.WorkflowURL(runInfo.WorkflowID, runInfo.RunID)
	fmt.Printf("escrow %s started: %s\n", *id, link)

	done := make(chan error, 1)
	var res workflows.EscrowResult
	go func() {
		var err error
		res, err = s.Starter.Wait(ctx, *id)
		done <- err
	}()
	last := ""
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			printPhase(ctx, s, *id, &last, started)
			if err != nil {
				return fmt.Errorf("escrow %s: %w", *id, err)
			}
			fmt.Printf("\nmultisig address: %s\n", res.Address)
			fmt.Printf("wall time %.1fs, open_wallet calls %d, roles on %s / %s / %s\n",
				time.Since(started).Seconds(), res.WalletOpens, res.Assignment.Buyer, res.Assignment.Vendor, res.Assignment.Arbiter)
			fmt.Printf("Web UI: %s\n", link)
			if *exit {
				return nil
			}
			fmt.Println("the stack stays up for the Web UI; Ctrl-C stops it")
			<-ctx.Done()
			return nil
		case <-tick.C:
			printPhase(ctx, s, *id, &last, started)
		case <-ctx.Done():
			return errors.New("interrupted")
		}
	}
}

// loadOrCreateSecret keeps the wallet secret of the local stack in a 0600 file, so wallets
// of earlier runs stay openable.
func loadOrCreateSecret(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		return worker.DecodeSecret(string(b))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read wallet secret: %w", err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(secret)), 0o600); err != nil {
		return nil, fmt.Errorf("write wallet secret: %w", err)
	}
	return secret, nil
}

func printPhase(ctx context.Context, s *localstack.Stack, id string, last *string, started time.Time) {
	st, err := s.Starter.Status(ctx, id)
	if err != nil {
		return
	}
	line := string(st.Phase)
	if st.Phase == escrow.PhaseExchanging {
		line = fmt.Sprintf("%s round %d/%d", st.Phase, st.Round, escrow.Rounds)
	}
	if st.Phase == escrow.PhaseFailed {
		line += ": " + st.Reason
	}
	if line != *last {
		fmt.Printf("%6.1fs  %s\n", time.Since(started).Seconds(), line)
		*last = line
	}
}
