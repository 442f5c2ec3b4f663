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
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/internal/scan"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// Store is what the watcher keeps in PostgreSQL (*store.Store).
type Store interface {
	Watches(ctx context.Context) ([]store.Watch, error)
	ScannedBlocks(ctx context.Context, n int) ([]store.ScannedBlock, error)
	RecordScannedWithNotices(ctx context.Context, b store.ScannedBlock, keep uint64, notices []store.Notice) error
	ForgetScannedAbove(ctx context.Context, height uint64) error
	SaveNotices(ctx context.Context, notices []store.Notice) error
	Notices(ctx context.Context, n int) ([]store.Notice, error)
	DeleteNotice(ctx context.Context, id int64) error
	PendingBackfills(ctx context.Context) ([]store.Backfill, error)
	FollowedTxs(ctx context.Context) ([]store.Followed, error)
	UnfollowFunding(ctx context.Context, escrowID string) error
	MarkBackfilled(ctx context.Context, done []store.Backfill) error
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
	// NotifyPayout tells escrowID's workflow where its followed payout transactions are
	// (store.FollowPayout); nil follows none.
	NotifyPayout func(ctx context.Context, escrowID string, s FollowState) error
	// NotifyFunding tells escrowID's workflow that its followed funding payments are deep
	// enough, or that one is gone (store.FollowFunding); nil follows none.
	NotifyFunding func(ctx context.Context, escrowID string, s FollowState) error
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
	// elect tries the leader lock (the store's, or a test's).
	elect func(ctx context.Context) (leadership, error)
	// The leader's in-memory state: rebuilt from the database when it starts leading.
	keys    map[string]store.Watch
	scanner *scan.Scanner
	// seenPool holds the pool transactions the scanner has scanned, with their matches, and
	// newKeys the keys registered since, which are scanned against them on the next pool scan.
	seenPool map[string]*poolTx
	newKeys  []store.Watch
	// redelivered holds the pool sightings this term delivered from the kept notices, so
	// its own scan of the pool does not signal them again.
	redelivered map[sighting]struct{}
	// backfills are the registrations whose past is still to scan, by escrow; stale says the
	// store's list must be read again (the registrations changed).
	backfills map[string]backfillJob
	stale     bool
	// confirmed is when (unix ns) the last leadership check that succeeded began; while it
	// leads, the watcher acts only within lease of it (fenced).
	confirmed atomic.Int64
	fenced    bool
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
	// told is the state each followed escrow (by ID and purpose) was last told of this term,
	// or, for a funding follow, last saw without telling; the follow
	// step runs again when the chain's length (followCount) or the followed hashes change,
	// or a signal failed (followRetry).
	told         map[string]FollowState
	followCount  uint64
	followHashes []string
	followRetry  bool
}

// leadership is a held leader lock (*store.Leadership).
type leadership interface {
	Alive(ctx context.Context) error
	Release()
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
	w := &Watcher{cfg: cfg, log: cfg.Logger.With(zap.String("component", "block-watcher"))}
	w.elect = func(ctx context.Context) (leadership, error) {
		l, err := cfg.Store.Lead(ctx, cfg.Name, w.ttl())
		if l == nil {
			return nil, err // not a typed nil in the interface
		}
		return l, err
	}
	return w
}

// Run stands by until this replica wins the lock, then leads until ctx ends or leadership is
// lost (a check fails or times out), and stands by again. It returns when ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	for ctx.Err() == nil {
		lead, err := w.elect(ctx)
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

// check is the deadline of one leadership check: a check that hangs is one that failed.
func (w *Watcher) check() time.Duration { return min(max(w.cfg.Poll, time.Second), 5*time.Second) }

// lease is how long after the start of its last successful check the leader still acts
// (signals, records blocks): twice the longest normal gap between two checks' starts.
func (w *Watcher) lease() time.Duration { return 2 * (w.cfg.Poll + w.check()) }

// ttl is how long PostgreSQL lets the lock's session stay silent before ending it, which
// frees the lock (store.Lead): longer than the lease by one more gap, so the server drops a
// frozen or cut-off leader only after that leader has stopped acting.
func (w *Watcher) ttl() time.Duration { return w.lease() + w.cfg.Poll + w.check() }

// errNotLeading stops a pass whose leader could not confirm its lock within the lease.
var errNotLeading = errors.New("watcher: leadership not confirmed within its lease; not acting")

// fence reports whether the leader may still act. Outside Run (tests, benchmarks) it always may.
func (w *Watcher) fence() error {
	if w.fenced && time.Since(time.Unix(0, w.confirmed.Load())) >= w.lease() {
		return errNotLeading
	}
	return nil
}

// lead runs scan passes while the lock holds. A heartbeat checks the lock every Poll, each
// check with a deadline; the first that fails or times out ends the term.
func (w *Watcher) lead(ctx context.Context, lead leadership) error {
	w.keys, w.scanner, w.seenPool, w.newKeys = nil, nil, map[string]*poolTx{}, nil
	w.redelivered = map[sighting]struct{}{}
	w.backfills, w.stale = map[string]backfillJob{}, true
	w.told, w.followCount, w.followHashes, w.followRetry = nil, 0, nil, false // a new term tells again
	w.confirmed.Store(time.Now().UnixNano())                                  // the lock was just taken
	w.fenced = true
	defer func() { w.fenced = false }()
	ctx, cancel := context.WithCancelCause(ctx)
	var beat sync.WaitGroup
	defer beat.Wait()
	defer cancel(nil)
	beat.Go(func() { w.heartbeat(ctx, lead, cancel) })
	for {
		if err := w.Pass(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("block watcher pass failed; trying again", zap.Error(err))
		}
		if !sleep(ctx, w.cfg.Poll) {
			return context.Cause(ctx)
		}
	}
}

// heartbeat confirms the lock every Poll until ctx ends, and ends the term (cancel) at the
// first check that fails or outlasts its deadline.
func (w *Watcher) heartbeat(ctx context.Context, lead leadership, cancel context.CancelCauseFunc) {
	for sleep(ctx, w.cfg.Poll) {
		start := time.Now()
		cctx, stop := context.WithTimeout(ctx, w.check())
		err := lead.Alive(cctx)
		stop()
		if err != nil {
			cancel(fmt.Errorf("watcher: leadership check: %w", err))
			return
		}
		w.confirmed.Store(start.UnixNano())
	}
}

// Pass is one round of the leader: refresh the watched escrows, deliver the notices kept from
// earlier passes, backfill new registrations, scan every block above the last one scanned
// (following a reorg back to the fork), then the pool. Exported for tests and benchmarks,
// which drive the watcher without the lock.
func (w *Watcher) Pass(ctx context.Context) error {
	if w.seenPool == nil {
		w.seenPool, w.backfills, w.stale = map[string]*poolTx{}, map[string]backfillJob{}, true
		w.redelivered = map[sighting]struct{}{}
	}
	if err := w.refreshKeys(ctx); err != nil {
		return err
	}
	if err := w.redeliver(ctx); err != nil {
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
	next, prev := w.startHeight(top), ""
	if len(last) > 0 {
		next, prev = last[0].Height+1, last[0].Hash
	}
	if err := w.queueBackfills(ctx, next); err != nil {
		return err
	}
	if err := w.backfill(ctx); err != nil {
		if errors.Is(err, errNotLeading) {
			return err
		}
		w.log.Warn("backfill of new registrations failed; retrying next pass", zap.Error(err))
	}
	for h := next; h <= top; h++ {
		b, err := w.cfg.Daemon.Block(ctx, h)
		if err != nil {
			return err
		}
		// Every block must extend the one scanned before it, in this pass or the last one: a
		// reorg between two reads is followed, not skipped.
		if prev != "" && b.PrevHash != prev {
			return w.unwind(ctx)
		}
		failed, err := w.scanBlock(ctx, b)
		if err != nil {
			return err
		}
		if err := w.fence(); err != nil {
			return err
		}
		if err := w.cfg.Store.RecordScannedWithNotices(ctx, store.ScannedBlock{Height: h, Hash: b.Hash}, w.cfg.Keep, failed); err != nil {
			return err
		}
		prev = b.Hash
		w.scanned.Store(h)
	}
	if err := w.scanPool(ctx, count); err != nil {
		return err
	}
	return w.followTxs(ctx, count)
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
	if err := w.fence(); err != nil {
		return err
	}
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
