// Package localstack runs the whole product on one machine from real parts: a Temporal dev
// server, a pool of monero-wallet-rpc processes and the worker, in this process. `make run`
// and the integration tests both stand on it.
package localstack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/devstack"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/starter"
	"github.com/xmr-escrow/xmr-escrow/temporalclient"
	"github.com/xmr-escrow/xmr-escrow/worker"
)

// Options shapes a local stack. Zero ports are picked free.
type Options struct {
	// Dir holds everything the stack writes: the Temporal database, wallets, logs.
	Dir string
	// WalletRPCs is the size of the wallet-rpc pool; default 3.
	WalletRPCs int
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
}

// Stack is a running local stack.
type Stack struct {
	Temporal *devstack.Temporal
	RPCs     []*devstack.WalletRPC
	Client   client.Client
	Starter  *starter.Client
	Worker   *worker.Worker
	Config   worker.Config
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
	if s.Temporal, err = devstack.StartTemporal(ctx, devstack.TemporalOptions{
		Dir:              filepath.Join(o.Dir, "temporal"),
		Port:             o.TemporalPort,
		UIPort:           o.UIPort,
		Headless:         o.Headless,
		SearchAttributes: escrow.SearchAttributeTypes,
	}); err != nil {
		return nil, err
	}
	if s.RPCs, err = StartPool(ctx, filepath.Join(o.Dir, "wallet-rpc"), o.WalletRPCs, o.WalletRPCBasePort); err != nil {
		return nil, err
	}
	if s.Client, err = temporalclient.Dial(ctx, temporalclient.Options{HostPort: s.Temporal.HostPort, Namespace: s.Temporal.Namespace, Logger: o.Logger}); err != nil {
		return nil, err
	}
	s.Starter = starter.New(s.Client)
	secret := o.WalletSecret
	if secret == nil {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("wallet secret: %w", err)
		}
	}
	s.Config = worker.Config{WalletSecret: secret, Instances: Instances(s.RPCs)}
	if err = s.StartWorker(); err != nil {
		return nil, err
	}
	return s, nil
}

// StartPool starts n wallet-rpc processes (offline: the setup needs no daemon) under dir.
func StartPool(ctx context.Context, dir string, n, basePort int) ([]*devstack.WalletRPC, error) {
	if basePort == 0 {
		return devstack.StartWalletRPCs(ctx, n, dir, devstack.WalletRPCOptions{Offline: true})
	}
	var out []*devstack.WalletRPC
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("rpc-%d", i+1)
		r, err := devstack.StartWalletRPC(ctx, devstack.WalletRPCOptions{Name: name, Dir: filepath.Join(dir, name), Port: basePort + i, Offline: true})
		if err != nil {
			_ = devstack.StopWalletRPCs(out)
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Instances describes running wallet-rpcs as worker config.
func Instances(rpcs []*devstack.WalletRPC) []worker.Instance {
	out := make([]worker.Instance, 0, len(rpcs))
	for _, r := range rpcs {
		out = append(out, worker.Instance{Name: r.Name, URL: r.URL, WalletDir: r.Dir, Username: r.Username, Password: r.Password})
	}
	return out
}

// StartWorker (re)starts the in-process worker with s.Config, as after a crash.
func (s *Stack) StartWorker() error {
	w, err := worker.New(s.Client, s.Config)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return err
	}
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

// Stop tears everything down: worker, client, wallet-rpcs (which store their open wallet),
// then the dev server.
func (s *Stack) Stop() {
	s.StopWorker()
	if s.Client != nil {
		s.Client.Close()
	}
	_ = devstack.StopWalletRPCs(s.RPCs)
	if s.Temporal != nil {
		_ = s.Temporal.Stop()
	}
}
