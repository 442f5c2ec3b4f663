package store

import (
	"context"
	"fmt"
	"math"
	"regexp"

	"github.com/lib/pq"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// Followed is a payout transaction the block watcher follows for an escrow: where it is
// (pool, block, depth up to Target) and whether it disappeared.
type Followed struct {
	EscrowID string `db:"escrow_id"`
	TxHash   string `db:"tx_hash"`
	Target   uint64 `db:"target"`
}

// maxFollowed bounds the hashes one escrow has followed at once: a payout is a handful of
// transactions, and a registration is never a way to make the watcher ask monerod about
// thousands.
const maxFollowed = 64

var txHashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// FollowPayout makes the block watcher follow hashes for escrowID, to the depth target,
// replacing the hashes it followed for it before (a rebuilt payout is followed instead of
// the one that vanished). No hashes stops following.
func (s *Store) FollowPayout(ctx context.Context, escrowID string, hashes []string, target uint64) error {
	if err := escrow.ValidateID(escrowID); err != nil {
		return fmt.Errorf("store: follow payout: %w: %w", ErrInvalid, err)
	}
	if len(hashes) > maxFollowed {
		return fmt.Errorf("store: follow payout of %q: %w", escrowID, invalidf("%d hashes, at most %d", len(hashes), maxFollowed))
	}
	for _, h := range hashes {
		if !txHashRE.MatchString(h) {
			return fmt.Errorf("store: follow payout of %q: %w", escrowID, invalidf("%.16q is not a transaction hash", h))
		}
	}
	if target > math.MaxInt64 {
		return fmt.Errorf("store: follow payout of %q: %w", escrowID, invalidf("target %d does not fit a bigint", target))
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: follow payout of %q: %w", escrowID, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `DELETE FROM followed_payouts WHERE escrow_id = $1 AND NOT (tx_hash = ANY($2::text[]))`,
		escrowID, pq.Array(hashes)); err != nil {
		return fmt.Errorf("store: follow payout of %q: %w", escrowID, err)
	}
	if len(hashes) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO followed_payouts (escrow_id, tx_hash, target)
SELECT $1, h, $3 FROM unnest($2::text[]) AS h
ON CONFLICT (escrow_id, tx_hash) DO UPDATE SET target = EXCLUDED.target`, escrowID, pq.Array(hashes), int64(target)); err != nil {
			return fmt.Errorf("store: follow payout of %q: %w", escrowID, MapError(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: follow payout of %q: %w", escrowID, err)
	}
	return nil
}

// FollowedPayouts lists every followed payout transaction, by escrow and hash.
func (s *Store) FollowedPayouts(ctx context.Context) ([]Followed, error) {
	var out []Followed
	if err := s.db.SelectContext(ctx, &out, `SELECT escrow_id, tx_hash, target FROM followed_payouts ORDER BY escrow_id, tx_hash`); err != nil {
		return nil, fmt.Errorf("store: read followed payouts: %w", err)
	}
	return out, nil
}
