package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
)

// Daemon variants (-daemon): what the wallet-rpcs' --daemon-address points at. In
// production the pool has a daemon, and an escrow goes from Ready to the funding wait, whose
// checks run on the escrow's wallet-rpc instance; the variants measure setups next to those
// checks when they succeed (up) and when every one fails and is retried (down).
const (
	// daemonUp is a regtest monerod of the benchmark's own.
	daemonUp = "up"
	// daemonDown is a loopback port nobody listens on: each funding-wait step that needs the
	// daemon fails at once (connection refused) and is retried, the worst case for an
	// instance's queue.
	daemonDown = "down"
)

// daemons is the monerod and the closed port every system's wallet-rpcs point at.
type daemons struct {
	monerod *devstack.Monerod // nil when no variant needs it
	closed  string            // host:port of the "down" variant
}

// startDaemons starts a regtest monerod if a variant needs it and picks the closed port.
func startDaemons(ctx context.Context, dir string, variants []string) (*daemons, error) {
	d := &daemons{}
	for _, v := range variants {
		if v == daemonUp && d.monerod == nil {
			m, err := devstack.StartMonerod(ctx, devstack.MonerodOptions{Dir: filepath.Join(dir, "monerod")})
			if err != nil {
				return nil, err
			}
			d.monerod = m
		}
	}
	port, err := devstack.FreePort()
	if err != nil {
		d.Stop()
		return nil, err
	}
	d.closed = fmt.Sprintf("127.0.0.1:%d", port)
	// FreePort hands out ports nobody listens on; make sure, or "down" would measure a
	// connection that hangs rather than one that is refused.
	if c, err := net.DialTimeout("tcp", d.closed, time.Second); err == nil {
		_ = c.Close()
		d.Stop()
		return nil, fmt.Errorf("daemon variant down: %s unexpectedly accepts connections", d.closed)
	}
	return d, nil
}

// Stop stops the monerod, if any.
func (d *daemons) Stop() {
	if d.monerod != nil {
		if err := d.monerod.Stop(); err != nil {
			logf("stop monerod: %v", err)
		}
	}
}

// address is the --daemon-address of a variant.
func (d *daemons) address(variant string) string {
	if variant == daemonUp {
		return d.monerod.Address
	}
	return d.closed
}

// chain is what localstack.Options takes to connect the pool: the stack reads the daemon's
// address from it (the pool's --daemon-address, trusted, --daemon-ssl disabled, and what
// else the stack points at the daemon). For "down" it is a bare Monerod value with the
// closed port, so that everything in the stack that talks to the daemon finds it down, not
// only the pool.
func (d *daemons) chain(variant string) *devstack.Chain {
	if variant == daemonUp {
		return &devstack.Chain{Daemon: d.monerod}
	}
	return &devstack.Chain{Daemon: &devstack.Monerod{Address: d.closed, URL: "http://" + d.closed}}
}

// walletRPCOptions are the options the script's and the baseline's wallet-rpcs start with:
// the same flags the local stack gives its pool for this variant (Chain.WalletRPCOptions:
// trusted daemon, --daemon-ssl disabled, no RPC login), so that every system pays the same
// per-call costs.
func (d *daemons) walletRPCOptions(variant string, keycache bool) devstack.WalletRPCOptions {
	o := d.chain(variant).WalletRPCOptions("", "")
	o.DaemonAddress = d.address(variant)
	o.NoKeyCache = !keycache
	return o
}

// pids is the monerod's process, counted as the benchmark's own CPU.
func (d *daemons) pids() []int {
	if d.monerod == nil {
		return nil
	}
	return []int{d.monerod.Proc.Pid()}
}
