package store

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"

	"github.com/lib/pq"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// Followed is a transaction the block watcher follows for an escrow: where it is (pool,
// block, depth up to Target) and whether it disappeared. Purpose says whose it is.
type Followed struct {
	EscrowID string `db:"escrow_id"`
	TxHash   string `db:"tx_hash"`
	Target   uint64 `db:"target"`
	Purpose  string `db:"purpose"`
}

// Follow purposes: what an escrow's followed transactions are, which decides what the
// watcher tells the escrow about them.
const (
	// PurposePayout is the escrow's payout: told at each new depth, followed until Unwatch.
	PurposePayout = "payout"
	// PurposeFunding is the buyer's payments while they confirm: told once, when deep
	// enough or gone, and then no longer followed.
	PurposeFunding = "funding"
)

// maxFollowed bounds the hashes one escrow has followed at once: a payout is a handful of
// transactions, and a registration is never a way to make the watcher ask monerod about
// thousands.
const maxFollowed = 64

var txHashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// FollowPayout makes the block watcher follow hashes for escrowID, to the depth target,
// replacing the hashes it followed for it before (a rebuilt payout is followed instead of
// the one that vanished, and the payout instead of the funding payments). No hashes stops
// following.
func (s *Store) FollowPayout(ctx context.Context, escrowID string, hashes []string, target uint64) error {
	return s.follow(ctx, PurposePayout, escrowID, hashes, target)
}

// FollowFunding makes the block watcher follow the escrow's funding payments, hashes, until
// they are target deep, replacing what it followed for the escrow before.
func (s *Store) FollowFunding(ctx context.Context, escrowID string, hashes []string, target uint64) error {
	return s.follow(ctx, PurposeFunding, escrowID, hashes, target)
}

// follow replaces the transactions followed for escrowID with hashes, for purpose.
func (s *Store) follow(ctx context.Context, purpose, escrowID string, hashes []string, target uint64) error {
	if err := escrow.ValidateID(escrowID); err != nil {
		return fmt.Errorf("store: follow %s: %w: %w", purpose, ErrInvalid, err)
	}
	if len(hashes) > maxFollowed {
		return fmt.Errorf("store: follow %s of %q: %w", purpose, escrowID, invalidf("%d hashes, at most %d", len(hashes), maxFollowed))
	}
	for _, h := range hashes {
		if !txHashRE.MatchString(h) {
			return fmt.Errorf("store: follow %s of %q: %w", purpose, escrowID, invalidf("%.16q is not a transaction hash", h))
		}
	}
	hashes = slices.Compact(slices.Sorted(slices.Values(hashes))) // a payment listed twice is followed once
	if target > math.MaxInt64 {
		return fmt.Errorf("store: follow %s of %q: %w", purpose, escrowID, invalidf("target %d does not fit a bigint", target))
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: follow %s of %q: %w", purpose, escrowID, err)
	}
	defer func() { _ = tx.Rollback() }()
	if purpose == PurposeFunding {
		// A payout supersedes the funding: a funding follow that comes late (a zombie attempt
		// of the activity) must not take the payout's place.
		var payout bool
		if err := tx.GetContext(ctx, &payout, `SELECT EXISTS (SELECT 1 FROM followed_payouts WHERE escrow_id = $1 AND purpose = $2)`,
			escrowID, PurposePayout); err != nil {
			return fmt.Errorf("store: follow %s of %q: %w", purpose, escrowID, err)
		}
		if payout {
			return nil
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM followed_payouts WHERE escrow_id = $1 AND NOT (tx_hash = ANY($2::text[]))`,
		escrowID, pq.Array(hashes)); err != nil {
		return fmt.Errorf("store: follow %s of %q: %w", purpose, escrowID, err)
	}
	if len(hashes) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO followed_payouts (escrow_id, tx_hash, target, purpose)
SELECT $1, h, $3, $4 FROM unnest($2::text[]) AS h
ON CONFLICT (escrow_id, tx_hash) DO UPDATE SET target = EXCLUDED.target, purpose = EXCLUDED.purpose`, escrowID, pq.Array(hashes), int64(target), purpose); err != nil {
			return fmt.Errorf("store: follow %s of %q: %w", purpose, escrowID, MapError(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: follow %s of %q: %w", purpose, escrowID, err)
	}
	return nil
}

// FollowedTxs lists every followed transaction, by escrow and hash.
func (s *Store) FollowedTxs(ctx context.Context) ([]Followed, error) {
	var out []Followed
	if err := s.db.SelectContext(ctx, &out, `SELECT escrow_id, tx_hash, target, purpose FROM followed_payouts ORDER BY escrow_id, tx_hash`); err != nil {
		return nil, fmt.Errorf("store: read followed transactions: %w", err)
	}
	return out, nil
}

// UnfollowFunding stops following escrowID's funding payments; a payout followed since is
// kept.
func (s *Store) UnfollowFunding(ctx context.Context, escrowID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM followed_payouts WHERE escrow_id = $1 AND purpose = $2`, escrowID, PurposeFunding); err != nil {
		return fmt.Errorf("store: unfollow the funding of %q: %w", escrowID, err)
	}
	return nil
}
