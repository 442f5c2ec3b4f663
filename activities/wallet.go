// Package activities holds one Temporal activity per monero-wallet-rpc step of the multisig
// setup. A Wallet value serves exactly one wallet-rpc instance and is registered on that
// instance's task queue, whose worker runs one activity at a time: that queue, not a mutex,
// is what keeps two calls off one wallet-rpc.
package activities

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/xmr-escrow/xmr-escrow/activities/placement"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// MinSecretLength is the shortest wallet secret accepted: passwords derived from a shorter
// secret could be guessed.
const MinSecretLength = 32

// Wallet is the set of activities of one wallet-rpc instance, with what they depend on.
type Wallet struct {
	instance string
	rpc      *walletrpc.Client
	dir      string
	secret   []byte

	// open is the wallet this instance had open when this process last looked; "" means
	// unknown. It is a belief, never proof: every step confirms it with the wallet's label
	// (see ensureOpen), and a wrong belief is counted as a mismatch. Only one activity of
	// this instance runs at a time in this process, so the atomic is for the race
	// detector's peace, not for coordination.
	open atomic.Pointer[string]

	counters *Counters
	pool     *placement.Pool
	backups  Backups
	watches  Watches
	host     string
	daemon   *walletrpc.Daemon
	caller   CallerCheck

	// weight is the instance's input weight, asked at most once per inputWeightTTL.
	weight inputWeight
}

// WalletConfig describes the wallet-rpc instance a Wallet serves.
type WalletConfig struct {
	// Instance is the instance's name; its task queue is escrow.WalletTaskQueue(Instance).
	Instance string
	// RPC talks to the instance.
	RPC *walletrpc.Client
	// Dir is the instance's --wallet-dir, which this worker must see: snapshots are file copies.
	Dir string
	// Secret derives each wallet's password (HMAC-SHA256 of the wallet name), so a password
	// is never stored, never sent through Temporal, and a crash between create and record
	// cannot lose it.
	Secret []byte
	// Counters, if set, counts the expensive calls; the worker reads it for metrics.
	Counters *Counters
	// Pool, if set, is the pool that leases this instance; ReturnInstance returns the
	// lease there. Returning it on the instance's own queue reaches the process that owns it.
	Pool *placement.Pool
	// Backups, if set, receives a sealed copy of each wallet's keys file after every round
	// and at Ready (backup.go); nil on a participant's own worker.
	Backups Backups
	// Watches, if set, receives an escrow's address and view key for the block watcher when
	// it starts waiting for payment (watch.go); nil on a participant's own worker.
	Watches Watches
	// Host names the host whose disk holds Dir; a restore reports it as the role's new home.
	Host string
	// Daemon, if set, is the monerod the instance follows: payouts ask it for the fee per
	// byte, which sets what is dust. Without it FallbackDustAtomic is the threshold.
	Daemon *walletrpc.Daemon
	// Decisions, if set, lets the payout steps check a payout against the decision its
	// escrow's workflow recorded (caller.go); nil skips that check, not the caller's identity.
	Decisions Decisions
}

// NewWallet checks cfg and returns the activities for one instance.
func NewWallet(cfg WalletConfig) (*Wallet, error) {
	switch {
	case cfg.Instance == "":
		return nil, errors.New("wallet activities: instance name is empty")
	case cfg.RPC == nil:
		return nil, fmt.Errorf("wallet activities %s: no RPC client", cfg.Instance)
	case cfg.Dir == "":
		return nil, fmt.Errorf("wallet activities %s: wallet dir is empty", cfg.Instance)
	case len(cfg.Secret) < MinSecretLength:
		return nil, fmt.Errorf("wallet activities %s: wallet secret has %d bytes, need at least %d", cfg.Instance, len(cfg.Secret), MinSecretLength)
	}
	w := &Wallet{instance: cfg.Instance, rpc: cfg.RPC, dir: cfg.Dir, secret: cfg.Secret, counters: cfg.Counters, pool: cfg.Pool,
		backups: cfg.Backups, watches: cfg.Watches, host: cfg.Host, daemon: cfg.Daemon, caller: CallerCheck{Decisions: cfg.Decisions}}
	if w.counters == nil {
		w.counters = &Counters{}
	}
	w.setOpen("")
	return w, nil
}

// Counters counts the expensive wallet-rpc calls of one instance since start. It lives
// outside Wallet because every exported Wallet method is registered as an activity.
type Counters struct {
	// Opens counts open_wallet calls (1–3.5 CPU-s each).
	Opens atomic.Int64
	// Creates counts create_wallet calls.
	Creates atomic.Int64
	// Mismatches counts steps that found the instance's open wallet to be other than the
	// one this process believed open (another wallet, none, or one it cannot identify):
	// a sign that something besides this worker drives the instance, or that it restarted.
	Mismatches atomic.Int64
	// Yields counts steps of finished escrows that stood back for another escrow's setup
	// (yieldToSetup).
	Yields atomic.Int64
}

func (w *Wallet) password(name string) string {
	m := hmac.New(sha256.New, w.secret)
	m.Write([]byte("xmr-escrow wallet password\x00" + name))
	return hex.EncodeToString(m.Sum(nil))
}

func (w *Wallet) setOpen(name string) { w.open.Store(&name) }

func (w *Wallet) isOpen(name string) bool { return *w.open.Load() == name }

// withWallet runs call with name open, confirmed by its label just before (ensureOpen). If
// the instance then says no wallet is open (it was restarted or driven by someone else
// behind our back), it reopens once and runs call again.
func (w *Wallet) withWallet(ctx context.Context, name string, call func(ctx context.Context) error) (int, error) {
	opens, err := w.ensureOpen(ctx, name)
	if err != nil {
		return opens, err
	}
	err = heartbeating(ctx, call)
	if walletrpc.IsNotOpen(err) {
		// The label said name was open a moment ago: something closed it in between.
		w.mismatch(ctx, name, name, "no wallet open after the check")
		w.setOpen("")
		n, oerr := w.ensureOpen(ctx, name)
		opens += n
		if oerr != nil {
			return opens, oerr
		}
		err = heartbeating(ctx, call)
	}
	if err != nil {
		var te *walletrpc.TransportError
		if errors.As(err, &te) {
			// The process may have restarted; do not trust what we think is open.
			w.setOpen("")
		}
	}
	return opens, err
}

// heartbeatEvery is how often a running RPC heartbeats; the heartbeat timeout set by the
// workflow is several times longer.
const heartbeatEvery = 3 * time.Second

// heartbeating runs fn while heartbeating, so that a worker that dies in a long call is
// noticed within the heartbeat timeout instead of the start-to-close timeout.
func heartbeating(ctx context.Context, fn func(ctx context.Context) error) error {
	if !activity.IsActivity(ctx) {
		return fn(ctx)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(heartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return fn(ctx)
}
