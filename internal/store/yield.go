package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// WantedFor is how long an instance that a waiting payout step asked for takes no new setup:
// long enough for the step's next attempt, short enough that a step that gave up or went
// ahead anyway does not keep the instance idle.
const WantedFor = 45 * time.Second

// YieldInstance returns the escrow whose setup holds instance's lease, when that is another
// escrow than escrowID; "" means the instance is free for escrowID's step. A step of a
// finished escrow that finds it held stands back rather than close the setup's open wallet.
// With want, a held instance is marked wanted (no new setup for WantedFor), and a free one
// is unmarked, since the step that wanted it is about to run.
func (s *Store) YieldInstance(ctx context.Context, instance, escrowID string, want bool) (holder string, err error) {
	err = s.db.GetContext(ctx, &holder, `UPDATE wallet_instances
SET wanted_at = CASE WHEN $3 THEN now() ELSE wanted_at END
WHERE instance = $1 AND escrow_id IS NOT NULL AND escrow_id <> $2 AND lease_expires > now()
RETURNING escrow_id`, instance, escrowID, want)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if want {
			if _, err := s.db.ExecContext(ctx, `UPDATE wallet_instances SET wanted_at = NULL
WHERE instance = $1 AND wanted_at IS NOT NULL`, instance); err != nil {
				return "", fmt.Errorf("store: unmark wanted instance %q: %w", instance, err)
			}
		}
		return "", nil
	case err != nil:
		return "", fmt.Errorf("store: check lease of instance %q: %w", instance, err)
	}
	return holder, nil
}

// InstanceCounts is the deployment's pool at one moment, from the hosts' heartbeats.
type InstanceCounts struct {
	// Live instances take setups: healthy, accepting, seen within live.
	Live int64 `db:"live"`
	// Leased of them are held by a setup now.
	Leased int64 `db:"leased"`
	// Wanted of them are kept from new setups for a waiting payout step.
	Wanted int64 `db:"wanted"`
}

// CountInstances counts the live, leased and wanted instances.
func (s *Store) CountInstances(ctx context.Context, live time.Duration) (InstanceCounts, error) {
	var c InstanceCounts
	err := s.db.GetContext(ctx, &c, `SELECT count(*) AS live,
	count(*) FILTER (WHERE escrow_id IS NOT NULL AND lease_expires > now()) AS leased,
	count(*) FILTER (WHERE wanted_at > now() - $2::interval) AS wanted
FROM wallet_instances WHERE accepting AND healthy AND seen_at > now() - $1::interval`, interval(live), interval(WantedFor))
	if err != nil {
		return InstanceCounts{}, fmt.Errorf("store: count instances: %w", err)
	}
	return c, nil
}
