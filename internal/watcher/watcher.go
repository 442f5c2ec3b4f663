// Package watcher follows monerod and scans each new block, and the transaction pool, once
// for every escrow awaiting payment, with the escrows' view keys (package scan), the way a
// light-wallet server does. On a match it tells the escrow's workflow ("payment seen"), which
// then asks its wallet at once: the wallet stays the source of truth, the watcher only
// triggers. One watcher leads per namespace, elected with a PostgreSQL advisory lock; the
// other replicas stand by, and a new leader goes on from the last block scanned.
package watcher

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/internal/scan"
	"github.com/xmr-escrow/xmr-escrow/store"
)

// Store is what the watcher keeps in PostgreSQL (*store.Store).
type Store interface {
	Watches(ctx context.Context) ([]store.Watch, error)
	ScannedBlocks(ctx context.Context, n int) ([]store.ScannedBlock, error)
	RecordScanned(ctx context.Context, b store.ScannedBlock, keep uint64) error
	ForgetScannedAbove(ctx context.Context, height uint64) error
	Lead(ctx context.Context, name string, ttl time.Duration) (*store.Leadership, error)
}

// Seen is one output paid to a watched escrow.
type Seen struct {
	TxHash      string
	OutputIndex int
	Amount      uint64
	// Height is the block that holds it; 0 while it waits in the pool.
	Height     uint64
	UnlockTime uint64
	InPool     bool
	// NextHeight, in the pool, is the next block's height: the earliest it can be mined at.
	NextHeight uint64
	// Unread is set when the watcher could not read a transaction (TxHash) that may pay the
	// escrow: it carries no amount, and asks the escrow to check its wallet.
	Unread bool
}

// Config wires a Watcher.
type Config struct {
	Store  Store
	Daemon *Daemon
	// Notify tells escrowID's workflow about a payment (a Temporal signal in production).
	Notify func(ctx context.Context, escrowID string, s Seen) error
	// Name is the leader lock's name, one per namespace: "block-watcher/<namespace>".
	Name string
	// Poll is how often the leader asks monerod for new blocks and the pool; default 2 s,
	// well inside a block's 120 s, so a payment is seen in the pool or in its block.
	Poll time.Duration
	// Standby is how often a replica that does not lead tries the lock; default 5 s.
	Standby time.Duration
	// Keep is how many scanned blocks are remembered to follow a reorg; default 100.
	Keep uint64
	// Workers spread a block's scan over cores; default all of them.
	Workers int
	Logger  *zap.Logger
}

// Watcher is one replica's watcher; Run makes it stand by or lead.
type Watcher struct {
	cfg Config
	log *zap.Logger
	// The leader's in-memory state: rebuilt from the database when it starts leading.
	keys    map[string]store.Watch
	scanner *scan.Scanner
	// seenPool holds the pool transactions the scanner has scanned, with their matches.
	seenPool map[string][]scan.Match
	pending  []notice
	// leading is set while this replica holds the lock; scanned, watched and seen are read
	// by the worker's metrics.
	leading atomic.Bool
	scanned atomic.Uint64
	watched atomic.Int64
	seen    atomic.Int64
	// unreadTxs and unreadOutputs count what the scanner could not read; wokeAt is the
	// height unread transactions last woke the watched escrows at.
	unreadTxs, unreadOutputs atomic.Int64
	wokeAt                   uint64
}

// Stats is what the watcher reports for the metrics.
type Stats struct {
	Leading bool
	// Height is the last block this replica scanned, Watched the escrows it watches, Seen the
	// payments it reported since it started.
	Height  uint64
	Watched int64
	Seen    int64
	// UnreadTxs and UnreadOutputs count the transactions (and, where known, outputs) the
	// scanner could not read since it started: each woke the escrows' wallet checks instead.
	UnreadTxs, UnreadOutputs int64
}

// Stats reads the watcher's figures.
func (w *Watcher) Stats() Stats {
	return Stats{Leading: w.leading.Load(), Height: w.scanned.Load(), Watched: w.watched.Load(), Seen: w.seen.Load(),
		UnreadTxs: w.unreadTxs.Load(), UnreadOutputs: w.unreadOutputs.Load()}
}

// notice is a Seen waiting to be delivered after a failed Notify.
type notice struct {
	escrowID string
	seen     Seen
}

// maxBackfill bounds the blocks scanned for a newly registered escrow's past.
const maxBackfill = 1000

// New returns a watcher; it does nothing until Run.
func New(cfg Config) *Watcher {
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Standby <= 0 {
		cfg.Standby = 5 * time.Second
	}
	if cfg.Keep == 0 {
		cfg.Keep = 100
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &Watcher{cfg: cfg, log: cfg.Logger.With(zap.String("component", "block-watcher"))}
}

// Run stands by until this replica wins the lock, then leads until ctx ends or the lock's
// connection fails, and stands by again. It returns when ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	for ctx.Err() == nil {
		lead, err := w.cfg.Store.Lead(ctx, w.cfg.Name, 0)
		if err != nil && ctx.Err() == nil {
			w.log.Warn("cannot try the block watcher's lock", zap.Error(err))
		}
		if lead != nil {
			w.log.Info("leading the block watcher", zap.String("lock", w.cfg.Name))
			w.leading.Store(true)
			err := w.lead(ctx, lead)
			w.leading.Store(false)
			lead.Release()
			if ctx.Err() == nil {
				w.log.Warn("stopped leading the block watcher", zap.Error(err))
			}
		}
		sleep(ctx, w.cfg.Standby)
	}
}

// Leading reports whether this replica leads now.
func (w *Watcher) Leading() bool { return w.leading.Load() }

// lead runs scan passes while the lock holds.
func (w *Watcher) lead(ctx context.Context, lead *store.Leadership) error {
	w.keys, w.scanner, w.seenPool, w.pending = nil, nil, map[string][]scan.Match{}, nil
	for {
		if err := lead.Alive(ctx); err != nil {
			return err
		}
		if err := w.Pass(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("block watcher pass failed; trying again", zap.Error(err))
		}
		if !sleep(ctx, w.cfg.Poll) {
			return ctx.Err()
		}
	}
}

// Pass is one round of the leader: refresh the watched escrows, scan every block above the
// last one scanned (following a reorg back to the fork), then the pool. Exported for tests
// and benchmarks, which drive the watcher without the lock.
func (w *Watcher) Pass(ctx context.Context) error {
	w.redeliver(ctx)
	added, err := w.refreshKeys(ctx)
	if err != nil {
		return err
	}
	count, err := w.cfg.Daemon.Count(ctx)
	if err != nil || count == 0 {
		return errors.Join(err, errors.New("watcher: the daemon has no blocks"))
	}
	top := count - 1
	last, err := w.cfg.Store.ScannedBlocks(ctx, 1)
	if err != nil {
		return err
	}
	next := w.startHeight(top)
	if len(last) > 0 {
		next = last[0].Height + 1
		if err := w.backfill(ctx, added, last[0].Height); err != nil {
			return err
		}
	}
	for h := next; h <= top; h++ {
		b, err := w.cfg.Daemon.Block(ctx, h)
		if err != nil {
			return err
		}
		if h == next && len(last) > 0 && b.PrevHash != last[0].Hash {
			return w.unwind(ctx)
		}
		if err := w.scanBlock(ctx, b, w.scanner); err != nil {
			return err
		}
		if err := w.cfg.Store.RecordScanned(ctx, store.ScannedBlock{Height: h, Hash: b.Hash}, w.cfg.Keep); err != nil {
			return err
		}
		w.scanned.Store(h)
	}
	return w.scanPool(ctx, count)
}

// startHeight is where a watcher with no scanned block begins: the earliest registration's
// height, or the top when nothing is watched.
func (w *Watcher) startHeight(top uint64) uint64 {
	start := top
	for _, k := range w.keys {
		start = min(start, k.FromHeight)
	}
	return max(start, top-min(top, maxBackfill))
}

// unwind follows a reorg: it finds the highest scanned block the daemon still has, and forgets
// the ones above it, so the next pass scans the new branch (and tells the escrows again).
func (w *Watcher) unwind(ctx context.Context) error {
	kept, err := w.cfg.Store.ScannedBlocks(ctx, int(w.cfg.Keep))
	if err != nil {
		return err
	}
	fork := uint64(0)
	if len(kept) > 0 {
		fork = kept[len(kept)-1].Height - min(kept[len(kept)-1].Height, 1)
	}
	for _, k := range kept {
		b, err := w.cfg.Daemon.Block(ctx, k.Height)
		if err == nil && b.Hash == k.Hash {
			fork = k.Height
			break
		}
	}
	w.log.Warn("chain reorganised; rescanning from the fork", zap.Uint64("fork_height", fork))
	clear(w.seenPool)
	return w.cfg.Store.ForgetScannedAbove(ctx, fork)
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
