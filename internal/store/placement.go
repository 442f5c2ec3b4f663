package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// InstanceBeat is one wallet-rpc instance's heartbeat: its host says it is alive, whether it
// answers, and whether it takes new setups.
type InstanceBeat struct {
	Instance  string
	Healthy   bool
	Accepting bool
}

// Placed is one leased instance and the host (failure domain) it lives on.
type Placed struct {
	Instance string `db:"instance"`
	Host     string `db:"host"`
}

// PlaceRequest asks for the instances of one escrow's setup.
type PlaceRequest struct {
	EscrowID string
	// TTL bounds the lease if it is never returned.
	TTL time.Duration
	// Live is how recent a heartbeat must be for an instance to count as alive.
	Live time.Duration
}

// ErrNoInstances is wrapped by PlaceEscrow when no live instance accepts setups at all.
var ErrNoInstances = errors.New("no live wallet-rpc instance accepts setups")

// BeatInstances records that host serves the given instances now, in one transaction, so
// placement never sees half of a host's beat. An instance that moved to another host (a
// disk carried over) takes the new host; its lease is kept.
func (s *Store) BeatInstances(ctx context.Context, host string, beats []InstanceBeat) (err error) {
	if host == "" {
		return fmt.Errorf("store: beat instances: %w", invalidf("host is empty"))
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: beat instances of host %q: begin: %w", host, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for _, b := range beats {
		if _, err := tx.ExecContext(ctx, `INSERT INTO wallet_instances (instance, host, healthy, accepting, seen_at)
VALUES ($1, $2, $3, $4, now())
ON CONFLICT (instance) DO UPDATE SET host = EXCLUDED.host, healthy = EXCLUDED.healthy,
	accepting = EXCLUDED.accepting, seen_at = now()`, b.Instance, host, b.Healthy, b.Accepting); err != nil {
			return fmt.Errorf("store: beat instance %q of host %q: %w", b.Instance, host, MapError(err))
		}
	}
	return tx.Commit()
}

// RetireInstances ages the instances' heartbeat to exactly live, as a worker does when it
// stops: no setup is placed on them from now on, but the setups they hold count as stalled
// only as late as after a crash, so a rolling deploy's few seconds take nothing from them.
func (s *Store) RetireInstances(ctx context.Context, instances []string, live time.Duration) error {
	for _, in := range instances {
		if _, err := s.db.ExecContext(ctx, `UPDATE wallet_instances SET seen_at = now() - $2::interval WHERE instance = $1`, in, interval(live)); err != nil {
			return fmt.Errorf("store: retire instance %q: %w", in, err)
		}
	}
	return nil
}

// interval spells d for PostgreSQL.
func interval(d time.Duration) string { return fmt.Sprintf("%d milliseconds", d.Milliseconds()) }

// candidatesSQL locks the instances a setup may take: alive, healthy, accepting, not wanted
// by a waiting payout step (YieldInstance) in the last WantedFor, and either
// free, expired, already the escrow's, or held by a setup stalled on a dead host (silent
// for three live periods). Such a setup cannot go on until that host returns; meanwhile
// its live instances serve others, and on return its steps reopen its own wallets (the
// label check makes that safe).
const candidatesSQL = `SELECT w.instance, w.host FROM wallet_instances w
WHERE w.accepting AND w.healthy AND w.seen_at > now() - $2::interval
  AND (w.wanted_at IS NULL OR w.wanted_at <= now() - $3::interval OR w.escrow_id = $1)
  AND (w.escrow_id IS NULL OR w.escrow_id = $1 OR w.lease_expires <= now()
       OR EXISTS (SELECT 1 FROM wallet_instances o WHERE o.escrow_id = w.escrow_id AND o.seen_at <= now() - 3 * $2::interval))
ORDER BY w.escrow_id = $1 DESC NULLS LAST, w.leased_at ASC NULLS FIRST, w.instance
FOR UPDATE OF w SKIP LOCKED`

// PlaceEscrow leases up to three instances to one escrow's setup, all or none, in one
// transaction, and returns them in role order (buyer, vendor, arbiter). It takes one
// instance per host first, so that with three hosts or more one lost host leaves two key
// shares; with fewer hosts it fills from the least recently leased. It wants
// min(3, live instances) and returns nil, with no lease taken, when fewer are free. Asking
// again for an escrow that holds its leases returns the same instances.
func (s *Store) PlaceEscrow(ctx context.Context, req PlaceRequest) (placed []Placed, err error) {
	if err := escrow.ValidateID(req.EscrowID); err != nil {
		return nil, fmt.Errorf("store: place escrow: %w: %w", ErrInvalid, err)
	}
	wrap := func(what string, err error) error {
		return fmt.Errorf("store: place escrow %q: %s: %w", req.EscrowID, what, err)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, wrap("begin", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	live := interval(req.Live)
	var held []Placed
	if err := tx.SelectContext(ctx, &held, `SELECT instance, host FROM wallet_instances
WHERE escrow_id = $1 AND lease_expires > now() ORDER BY lease_role`, req.EscrowID); err != nil {
		return nil, wrap("read held leases", err)
	}
	var total int
	if err := tx.GetContext(ctx, &total, `SELECT count(*) FROM wallet_instances
WHERE accepting AND healthy AND seen_at > now() - $1::interval`, live); err != nil {
		return nil, wrap("count live instances", err)
	}
	need := min(escrow.Total, total)
	if need == 0 {
		return nil, wrap("count live instances", ErrNoInstances)
	}
	if len(held) == need {
		return held, tx.Commit()
	}
	var cands []Placed
	if err := tx.SelectContext(ctx, &cands, candidatesSQL, req.EscrowID, live, interval(WantedFor)); err != nil {
		return nil, wrap("lock free instances", err)
	}
	placed = spread(cands, need)
	if len(placed) < need {
		_, err := tx.ExecContext(ctx, `INSERT INTO lease_waiters (escrow_id) VALUES ($1) ON CONFLICT DO NOTHING`, req.EscrowID)
		if err != nil {
			return nil, wrap("record waiter", err)
		}
		return nil, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, `UPDATE wallet_instances SET escrow_id = NULL, lease_expires = NULL, lease_role = NULL
WHERE escrow_id = $1`, req.EscrowID); err != nil {
		return nil, wrap("drop partial leases", err)
	}
	for i, p := range placed {
		if _, err := tx.ExecContext(ctx, `UPDATE wallet_instances SET escrow_id = $2, lease_role = $3,
	lease_expires = now() + $4::interval, leased_at = now() WHERE instance = $1`,
			p.Instance, req.EscrowID, i, interval(req.TTL)); err != nil {
			return nil, wrap("lease "+p.Instance, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM lease_waiters WHERE escrow_id = $1`, req.EscrowID); err != nil {
		return nil, wrap("drop waiter", err)
	}
	return placed, tx.Commit()
}

// spread picks need instances from cands (in preference order): first one per host, in
// the order hosts appear, then the rest in order.
func spread(cands []Placed, need int) []Placed {
	out := make([]Placed, 0, need)
	used := make([]bool, len(cands))
	hosts := map[string]bool{}
	for i, c := range cands {
		if len(out) == need {
			return out
		}
		if !hosts[c.Host] {
			hosts[c.Host], used[i] = true, true
			out = append(out, c)
		}
	}
	for i, c := range cands {
		if len(out) == need {
			break
		}
		if !used[i] {
			out = append(out, c)
		}
	}
	return out
}

// ReturnLease ends escrowID's lease on instance and reports whether it held one.
func (s *Store) ReturnLease(ctx context.Context, instance, escrowID string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE wallet_instances SET escrow_id = NULL, lease_expires = NULL, lease_role = NULL
WHERE instance = $1 AND escrow_id = $2`, instance, escrowID)
	if err != nil {
		return false, fmt.Errorf("store: return lease of %q on %q: %w", escrowID, instance, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: return lease of %q on %q: rows affected: %w", escrowID, instance, err)
	}
	return n == 1, nil
}

// PopLeaseWaiter removes and returns the oldest setup waiting for capacity, if a setup fits
// in the free live instances now (three, or all there are); ok is false otherwise.
func (s *Store) PopLeaseWaiter(ctx context.Context, live time.Duration) (escrowID string, ok bool, err error) {
	err = s.db.GetContext(ctx, &escrowID, `WITH up AS (
	SELECT count(*) FILTER (WHERE escrow_id IS NULL OR lease_expires <= now()) AS free, count(*) AS total
	FROM wallet_instances WHERE accepting AND healthy AND seen_at > now() - $2::interval)
DELETE FROM lease_waiters WHERE escrow_id = (
	SELECT escrow_id FROM lease_waiters, up WHERE up.total > 0 AND up.free >= least($1, up.total)
	ORDER BY since, escrow_id LIMIT 1 FOR UPDATE OF lease_waiters SKIP LOCKED)
RETURNING escrow_id`, escrow.Total, interval(live))
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: pop lease waiter: %w", err)
	}
	return escrowID, true, nil
}

// CountLeaseWaiters counts the setups waiting for capacity.
func (s *Store) CountLeaseWaiters(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM lease_waiters`); err != nil {
		return 0, fmt.Errorf("store: count lease waiters: %w", err)
	}
	return n, nil
}

// InstanceHost returns the host that last announced instance, or "" if none has.
func (s *Store) InstanceHost(ctx context.Context, instance string) (string, error) {
	var host string
	err := s.db.GetContext(ctx, &host, `SELECT host FROM wallet_instances WHERE instance = $1`, instance)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: host of instance %q: %w", instance, err)
	}
	return host, nil
}

// CountEscrowsSharingAHost counts the running escrows (backups not yet given a retention
// end) whose backed-up roles live on fewer hosts than they have roles: escrows that one lost
// host would leave with fewer than two key shares, or none.
func (s *Store) CountEscrowsSharingAHost(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM (
	SELECT b.escrow_id FROM wallet_backups b JOIN wallet_instances i ON i.instance = b.instance
	WHERE b.retain_until IS NULL GROUP BY b.escrow_id
	HAVING count(DISTINCT i.host) < count(*)) shared`); err != nil {
		return 0, fmt.Errorf("store: count escrows sharing a host: %w", err)
	}
	return n, nil
}
