package watcher

import (
	"context"
	"math"

	"github.com/xmr-escrow/xmr-escrow/internal/scan"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// maxBackfill bounds the blocks scanned for a newly registered escrow's past.
const maxBackfill = 1000

// backfillJob is a registration whose past is still to scan: from its FromHeight up to upto,
// the last block scanned before its key joined the main scanner. Blocks above upto are the
// main pass's.
type backfillJob struct {
	b    store.Backfill
	upto int64
}

// queueBackfills reads the registrations whose past has not been scanned (store
// PendingBackfills) when they changed, including at the start of a term: a new leader
// backfills what its predecessor had not. next is the first block the main pass scans now.
func (w *Watcher) queueBackfills(ctx context.Context, next uint64) error {
	if !w.stale {
		return nil
	}
	pending, err := w.cfg.Store.PendingBackfills(ctx)
	if err != nil {
		return err // stale stays set: read again next pass
	}
	w.stale = false
	for _, b := range pending {
		if j, ok := w.backfills[b.EscrowID]; ok {
			j.b = b // lowered again: same upper bound, the key has been scanned above it
			w.backfills[b.EscrowID] = j
			continue
		}
		w.backfills[b.EscrowID] = backfillJob{b: b, upto: int64(next) - 1}
	}
	return nil
}

// span is the blocks a job scans, bounded by maxBackfill below its upper end; empty when
// its registration is above it.
func (j backfillJob) span() (from, to int64) {
	return max(int64(j.b.FromHeight), j.upto-maxBackfill+1), j.upto
}

// backfill scans the past of the queued registrations, in one sweep with a scanner of their
// keys, tells the escrows paid, and marks them done in the store. A failure leaves them queued
// for the next pass; a block scanned again tells its escrows again, which costs a check only.
func (w *Watcher) backfill(ctx context.Context) error {
	if len(w.backfills) == 0 {
		return nil
	}
	var keys []store.Watch
	var done []store.Backfill
	lo, hi := int64(math.MaxInt64), int64(-1)
	for id, j := range w.backfills {
		k, ok := w.keys[id]
		if !ok || k.Address != j.b.Address {
			delete(w.backfills, id) // unwatched, or changed: read again with the change
			continue
		}
		done = append(done, j.b)
		if from, to := j.span(); from <= to {
			keys = append(keys, k)
			lo, hi = min(lo, from), max(hi, to)
		}
	}
	if len(keys) > 0 {
		sc, err := w.newScanner(keys)
		if err != nil {
			return err
		}
		for h := lo; h <= hi; h++ {
			if err := w.backfillBlock(ctx, sc, uint64(h)); err != nil {
				return err
			}
		}
	}
	if err := w.fence(); err != nil {
		return err
	}
	if err := w.cfg.Store.MarkBackfilled(ctx, done); err != nil {
		return err
	}
	for _, b := range done {
		if w.backfills[b.EscrowID].b == b {
			delete(w.backfills, b.EscrowID)
		}
	}
	return nil
}

// backfillBlock scans one block of the backfill and tells each escrow only of the blocks in
// its own span. Notices not delivered are kept.
func (w *Watcher) backfillBlock(ctx context.Context, sc *scan.Scanner, h uint64) error {
	b, err := w.cfg.Daemon.Block(ctx, h)
	if err != nil {
		return err
	}
	matches, unread, err := w.readBlock(ctx, b, sc)
	if err != nil {
		return err
	}
	var mine []scan.Match
	for _, m := range matches {
		if from, to := w.backfills[m.KeyID].span(); int64(h) >= from && int64(h) <= to {
			mine = append(mine, m)
		}
	}
	failed, err := w.tell(ctx, mine, Seen{Height: h})
	if err != nil {
		return err
	}
	more, err := w.wakeAll(ctx, unread, Seen{Height: h})
	if err != nil {
		return err
	}
	return w.keep(ctx, append(failed, more...))
}
