// Package placement decides which wallet-rpc instances an escrow's setup gets: a lease per
// instance, so a setup's wallets stay open from create to ready, and with a shared table, its
// three roles on three hosts. Its activity (AssignWalletRPCs) runs on the escrow queue.
package placement

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/xmr-escrow/xmr-escrow/activities/internal/failure"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// DefaultLeaseTTL bounds how long an instance stays leased to one escrow's setup if its
// return never arrives (a lost worker); after it, the instance may be handed out again.
const DefaultLeaseTTL = 15 * time.Minute

// Pool hands the wallet-rpc instances this worker serves to escrow setups. An instance is
// leased to one setup at a time, so every wallet stays open on its instance from create to
// ready: interleaving two setups on one instance costs an open_wallet (1–3.5 CPU-s) on
// almost every step, which measured 14 opens per escrow for three escrows on three
// instances. Leases are compare-and-swap slots, not a lock: nothing ever waits on them
// inside the process; a setup that finds no capacity is retried by Temporal.
type Pool struct {
	instances []string
	leases    []atomic.Pointer[lease]
	next      atomic.Uint64
	ttl       time.Duration
	now       func() time.Time
	healthy   func(instance string) bool
	// waiters are the escrows this pool refused for want of capacity, oldest first; when a
	// return frees enough instances the oldest is woken (SetWake). A hint, not a queue:
	// a lost waiter (a restart, or an escrow that got capacity on another host) only
	// costs a timer's wait.
	mu      sync.Mutex
	waiters []string
	wake    func(escrowID string)
	// host names this process's host in assignments; shared, if set, replaces the
	// in-memory leases with the table every host shares (Share).
	host   string
	shared Placer
	live   time.Duration
}

// Placer is the lease table that every host of a deployment shares (store.Store): with it a
// setup's three roles can be placed on three hosts, so one lost host leaves two key shares.
type Placer interface {
	PlaceEscrow(ctx context.Context, req store.PlaceRequest) ([]store.Placed, error)
	ReturnLease(ctx context.Context, instance, escrowID string) (bool, error)
	PopLeaseWaiter(ctx context.Context, live time.Duration) (string, bool, error)
	YieldInstance(ctx context.Context, instance, escrowID string, want bool) (string, error)
}

// maxWaiters bounds the waiters a pool remembers; more waiting escrows fall back on their
// timers.
const maxWaiters = 4096

type lease struct {
	escrowID string
	expires  time.Time
}

// New returns a pool over the named instances, in the given order.
func New(instances []string) (*Pool, error) {
	if len(instances) == 0 {
		return nil, errors.New("wallet-rpc pool: no instances configured")
	}
	seen := map[string]bool{}
	for _, in := range instances {
		if in == "" || seen[in] {
			return nil, fmt.Errorf("wallet-rpc pool: empty or repeated instance name %q", in)
		}
		seen[in] = true
	}
	return &Pool{
		instances: append([]string(nil), instances...),
		leases:    make([]atomic.Pointer[lease], len(instances)),
		ttl:       DefaultLeaseTTL,
		now:       time.Now,
	}, nil
}

// SetWake makes the pool call wake (asynchronously, it must not block) with the oldest
// refused escrow whenever a return leaves enough idle instances for a setup.
func (p *Pool) SetWake(wake func(escrowID string)) { p.wake = wake }

// SetHost names the host this pool's instances live on, for the assignments it makes.
func (p *Pool) SetHost(host string) { p.host = host }

// Share makes the pool lease from pl, the table every host shares, instead of its own
// memory: instances whose heartbeat is older than live are not handed out. The caller keeps
// this process's instances' heartbeats in pl.
func (p *Pool) Share(pl Placer, live time.Duration) { p.shared, p.live = pl, live }

// SetHealth makes the pool hand out only instances f calls healthy (a supervised pool's
// live processes); steps already queued on a dead instance wait for it to come back.
func (p *Pool) SetHealth(f func(instance string) bool) { p.healthy = f }

// AssignInput asks for the instances of one escrow.
type AssignInput struct {
	EscrowID string `json:"escrow_id"`
}

// AssignWalletRPCs leases the instances of one escrow's setup, all or none, and says which
// role goes where. It runs as a local activity, so its answer is recorded in history and
// replays identically. The three roles land on three different instances whenever the pool
// has three, so each round's steps run in parallel. Asking again for an escrow that holds
// leases returns the same instances.
func (p *Pool) AssignWalletRPCs(ctx context.Context, in AssignInput) (escrow.Assignment, error) {
	if err := escrow.ValidateID(in.EscrowID); err != nil {
		return escrow.Assignment{}, failure.NonRetryable(escrow.ErrTypeInvalidInput, err)
	}
	if p.shared != nil {
		return p.assignShared(ctx, in)
	}
	need := min(escrow.Total, len(p.instances))
	if held := p.held(in.EscrowID); len(held) == need {
		return p.assignment(held), nil
	}
	now := p.now()
	mine := &lease{escrowID: in.EscrowID, expires: now.Add(p.ttl)}
	start := int(p.next.Add(1) - 1)
	var got []int
	down := 0
	for k := 0; k < len(p.instances) && len(got) < need; k++ {
		i := (start + k) % len(p.instances)
		cur := p.leases[i].Load()
		if cur != nil && cur.escrowID != in.EscrowID && now.Before(cur.expires) {
			continue
		}
		if p.healthy != nil && !p.healthy(p.instances[i]) {
			down++
			continue
		}
		if p.leases[i].CompareAndSwap(cur, mine) {
			got = append(got, i)
		}
	}
	if len(got) < need {
		for _, i := range got {
			p.leases[i].CompareAndSwap(mine, nil)
		}
		p.addWaiter(in.EscrowID)
		msg := fmt.Sprintf("no capacity: %d of %d wallet-rpc instances are busy with other setups or down", len(p.instances)-len(got), len(p.instances))
		if down > 0 {
			// A dead instance is a fault an operator should see in the failure counts.
			return escrow.Assignment{}, temporal.NewApplicationError(msg, escrow.ErrTypeNoCapacity)
		}
		return escrow.Assignment{}, failure.ExpectedWait(msg, escrow.ErrTypeNoCapacity, temporal.ApplicationErrorOptions{})
	}
	p.dropWaiter(in.EscrowID)
	return p.assignment(got), nil
}

// assignShared places the setup through the shared table: one role per host while there
// are hosts to spare. A refused escrow is recorded there as a waiter, so a return on any
// host wakes it.
func (p *Pool) assignShared(ctx context.Context, in AssignInput) (escrow.Assignment, error) {
	placed, err := p.shared.PlaceEscrow(ctx, store.PlaceRequest{EscrowID: in.EscrowID, TTL: p.ttl, Live: p.live})
	switch {
	case errors.Is(err, store.ErrNoInstances):
		return escrow.Assignment{}, temporal.NewApplicationError("no capacity: no live wallet-rpc instance takes setups", escrow.ErrTypeNoCapacity)
	case err != nil:
		return escrow.Assignment{}, fmt.Errorf("place escrow %s: %w", in.EscrowID, err)
	case len(placed) == 0:
		// Only a wait: the live instances are busy (no live instance at all is not, above).
		return escrow.Assignment{}, failure.ExpectedWait("no capacity: every live wallet-rpc instance is busy with another setup", escrow.ErrTypeNoCapacity, temporal.ApplicationErrorOptions{})
	}
	pick := func(r int) store.Placed { return placed[r%len(placed)] }
	return escrow.Assignment{
		Buyer: pick(0).Instance, Vendor: pick(1).Instance, Arbiter: pick(2).Instance,
		Hosts: &escrow.Hosts{Buyer: pick(0).Host, Vendor: pick(1).Host, Arbiter: pick(2).Host},
	}, nil
}

// ReturnShared ends escrowID's lease on instance, in the shared table if the pool has one
// (Return otherwise), and wakes the oldest waiting setup if one now fits.
func (p *Pool) ReturnShared(ctx context.Context, instance, escrowID string) (bool, error) {
	if p.shared == nil {
		return p.Return(instance, escrowID), nil
	}
	ok, err := p.shared.ReturnLease(ctx, instance, escrowID)
	if err != nil || !ok || p.wake == nil {
		return ok, err
	}
	// A lost wake only costs a waiting setup its timer, so its failure fails nothing.
	if next, found, err := p.shared.PopLeaseWaiter(ctx, p.live); err == nil && found {
		p.wake(next)
	}
	return ok, nil
}

// Return ends escrowID's lease on the named instance and reports whether it held one.
func (p *Pool) Return(instance, escrowID string) bool {
	for i, name := range p.instances {
		if name != instance {
			continue
		}
		if cur := p.leases[i].Load(); cur != nil && cur.escrowID == escrowID {
			if !p.leases[i].CompareAndSwap(cur, nil) {
				return false
			}
			p.wakeOne()
			return true
		}
	}
	return false
}

// Busy counts the instances leased now.
func (p *Pool) Busy() int {
	n, now := 0, p.now()
	for i := range p.leases {
		if l := p.leases[i].Load(); l != nil && now.Before(l.expires) {
			n++
		}
	}
	return n
}

func (p *Pool) held(escrowID string) []int {
	var out []int
	for i := range p.leases {
		if l := p.leases[i].Load(); l != nil && l.escrowID == escrowID {
			out = append(out, i)
		}
	}
	return out
}

func (p *Pool) assignment(idx []int) escrow.Assignment {
	pick := func(r int) string { return p.instances[idx[r%len(idx)]] }
	a := escrow.Assignment{Buyer: pick(0), Vendor: pick(1), Arbiter: pick(2)}
	if p.host != "" {
		a.Hosts = &escrow.Hosts{Buyer: p.host, Vendor: p.host, Arbiter: p.host}
	}
	return a
}

// Restore leases the named instances of this pool to escrowID, as a restarted worker does
// for the escrows that visibility shows still in setup: their steps are queued on these
// instances, and handing them to another setup would interleave two wallets on each. Names
// this pool does not serve are ignored; it returns how many it leased.
func (p *Pool) Restore(escrowID string, instances []string) int {
	n := 0
	mine := &lease{escrowID: escrowID, expires: p.now().Add(p.ttl)}
	for _, name := range instances {
		for i, own := range p.instances {
			if own == name {
				p.leases[i].Store(mine)
				n++
			}
		}
	}
	return n
}

// addWaiter remembers a refused escrow once, oldest first.
func (p *Pool) addWaiter(escrowID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if slices.Contains(p.waiters, escrowID) || len(p.waiters) >= maxWaiters {
		return
	}
	p.waiters = append(p.waiters, escrowID)
}

// dropWaiter forgets an escrow that got its instances, so no wake is spent on it.
func (p *Pool) dropWaiter(escrowID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waiters = slices.DeleteFunc(p.waiters, func(w string) bool { return w == escrowID })
}

// wakeOne wakes the oldest waiter if a setup fits in the idle instances now. The three
// returns of one setup wake one waiter, on the last of them.
func (p *Pool) wakeOne() {
	if p.wake == nil || len(p.instances)-p.Busy() < min(escrow.Total, len(p.instances)) {
		return
	}
	p.mu.Lock()
	if len(p.waiters) == 0 {
		p.mu.Unlock()
		return
	}
	next := p.waiters[0]
	p.waiters = p.waiters[1:]
	p.mu.Unlock()
	p.wake(next)
}

// Waiting counts the escrows this pool refused and has not woken yet.
func (p *Pool) Waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiters)
}

// Yield returns the escrow whose setup holds instance, when another than escrowID; "" when
// the step may run. The shared table also keeps a wanted instance from new setups (want);
// the in-memory pool only answers.
func (p *Pool) Yield(ctx context.Context, instance, escrowID string, want bool) (string, error) {
	if p.shared != nil {
		return p.shared.YieldInstance(ctx, instance, escrowID, want)
	}
	now := p.now()
	for i, name := range p.instances {
		if name != instance {
			continue
		}
		if l := p.leases[i].Load(); l != nil && l.escrowID != escrowID && now.Before(l.expires) {
			return l.escrowID, nil
		}
	}
	return "", nil
}
