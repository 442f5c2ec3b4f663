package watcher

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/internal/scan"
	"github.com/xmr-escrow/xmr-escrow/moneroaddr"
	"github.com/xmr-escrow/xmr-escrow/store"
)

// refreshKeys reloads the watched escrows and rebuilds the scanner when they changed. It
// returns the escrows that are new since the last pass, whose past blocks need a backfill.
func (w *Watcher) refreshKeys(ctx context.Context) ([]store.Watch, error) {
	watches, err := w.cfg.Store.Watches(ctx)
	if err != nil && len(watches) == 0 {
		return nil, err
	}
	if err != nil {
		// Rows that do not open are named in err; the others are watched all the same.
		w.log.Error("some watched escrows cannot be read; watching the rest", zap.Error(err))
	}
	next := make(map[string]store.Watch, len(watches))
	var added []store.Watch
	changed := len(watches) != len(w.keys) || w.scanner == nil
	for _, x := range watches {
		next[x.EscrowID] = x
		if old, ok := w.keys[x.EscrowID]; !ok || old != x {
			changed = true
			added = append(added, x)
		}
	}
	if !changed {
		return nil, nil
	}
	sc, err := w.newScanner(watches)
	if err != nil {
		return nil, err
	}
	first := w.keys == nil
	w.keys, w.scanner = next, sc
	w.watched.Store(int64(sc.Len()))
	clear(w.seenPool) // the pool's transactions are scanned again for the new keys
	if first {
		return nil, nil // the main pass starts from the earliest registration
	}
	return added, nil
}

// newScanner builds a scanner over the watched escrows: each multisig address's public spend
// key and shared private view key. An escrow whose address or key does not decode (it was
// validated when registered) is logged and left to its own safety-net poll, so one bad row
// never blinds the watcher to the others.
func (w *Watcher) newScanner(watches []store.Watch) (*scan.Scanner, error) {
	keys := make([]scan.Key, 0, len(watches))
	for _, x := range watches {
		a, err := moneroaddr.Parse(x.Address)
		if err != nil {
			w.log.Error("a watched escrow's address does not decode; not watching it", zap.String("escrow_id", x.EscrowID), zap.Error(err))
			continue
		}
		k := scan.Key{ID: x.EscrowID, View: x.ViewKey, Spend: a.PublicSpendKey}
		if _, err := scan.NewScanner([]scan.Key{k}); err != nil {
			w.log.Error("a watched escrow's view key is not usable; not watching it", zap.String("escrow_id", x.EscrowID), zap.Error(err))
			continue
		}
		keys = append(keys, k)
	}
	sc, err := scan.NewScanner(keys)
	if err != nil {
		return nil, fmt.Errorf("watcher: build scanner: %w", err)
	}
	return sc, nil
}

// backfill scans the blocks a newly registered escrow may have been paid in before the
// watcher knew its key: from its registration height up to the last block scanned.
func (w *Watcher) backfill(ctx context.Context, added []store.Watch, last uint64) error {
	if len(added) == 0 {
		return nil
	}
	from := last + 1
	for _, x := range added {
		from = min(from, x.FromHeight)
	}
	if from > last {
		return nil
	}
	from = max(from, last-min(last, maxBackfill))
	sc, err := w.newScanner(added)
	if err != nil {
		return err
	}
	for h := from; h <= last; h++ {
		b, err := w.cfg.Daemon.Block(ctx, h)
		if err != nil {
			return err
		}
		if err := w.scanBlock(ctx, b, sc); err != nil {
			return err
		}
	}
	return nil
}

// scanBlock scans a block's miner transaction and transactions with sc and tells the
// escrows paid. A transaction the main scanner already scanned in the pool is not scanned
// again: its matches are reused with the block's height, so each transaction costs one scan.
func (w *Watcher) scanBlock(ctx context.Context, b Block, sc *scan.Scanner) error {
	if sc == nil || sc.Len() == 0 {
		return nil
	}
	var todo []string
	var known []scan.Match
	for _, h := range b.TxHashes {
		if m, ok := w.seenPool[h]; ok && sc == w.scanner {
			known = append(known, m...)
			continue
		}
		todo = append(todo, h)
	}
	raw, err := w.cfg.Daemon.Transactions(ctx, todo)
	if err != nil {
		return err
	}
	txs, unread := w.parse(raw)
	if miner, err := scan.ParseMinerTx(b.MinerTxHash, b.JSON); err == nil {
		txs = append([]*scan.Tx{miner}, txs...)
	} else {
		w.log.Warn("cannot read a block's miner transaction; the watched escrows' wallets are asked instead", zap.Uint64("height", b.Height), zap.Error(err))
		w.unreadTxs.Add(1)
		unread = append(unread, b.MinerTxHash)
	}
	res, err := w.scan(sc, txs, b.Height)
	if err != nil {
		return err
	}
	w.tell(ctx, append(known, res.Matches...), Seen{Height: b.Height})
	w.wakeAll(ctx, unread, Seen{Height: b.Height})
	return nil
}

// scanPool scans the pool's transactions not seen yet, so a payment is noticed before it is
// mined; its block tells the escrow again, with the height. next is the next block's height.
func (w *Watcher) scanPool(ctx context.Context, next uint64) error {
	if w.scanner == nil || w.scanner.Len() == 0 {
		return nil
	}
	hashes, err := w.cfg.Daemon.PoolHashes(ctx)
	if err != nil {
		return err
	}
	now := make(map[string][]scan.Match, len(hashes))
	var fresh []string
	for _, h := range hashes {
		m, ok := w.seenPool[h]
		now[h] = m
		if !ok {
			fresh = append(fresh, h)
		}
	}
	raw, err := w.cfg.Daemon.Transactions(ctx, fresh)
	if err != nil {
		// A transaction may leave the pool between the two calls (mined or dropped): its
		// block, or the next pass, covers it.
		w.log.Debug("read new pool transactions; trying again next pass", zap.Error(err))
		return nil
	}
	w.seenPool = now // forget what left the pool
	txs, unread := w.parse(raw)
	for _, tx := range txs {
		now[tx.Hash] = nil // scanned, whatever it holds
	}
	for _, h := range unread {
		now[h] = nil // counted once; its block wakes the escrows again if need be
	}
	res, err := w.scan(w.scanner, txs, 0)
	if err != nil {
		return err
	}
	for _, m := range res.Matches {
		now[m.TxHash] = append(now[m.TxHash], m)
	}
	w.tell(ctx, res.Matches, Seen{InPool: true, NextHeight: next})
	w.wakeAll(ctx, unread, Seen{InPool: true, NextHeight: next})
	return nil
}

// parse decodes transactions. One that does not parse, or whose kind the scanner cannot read
// (scan.Tx.Unsupported: a format from a later hard fork), is counted, never taken for "not
// paid": the pass wakes every watched escrow's wallet check instead (wakeAll).
func (w *Watcher) parse(raw []RawTx) (txs []*scan.Tx, unread []string) {
	txs = make([]*scan.Tx, 0, len(raw))
	for _, t := range raw {
		tx, err := scan.ParseTx(t.Hash, t.AsJSON)
		switch {
		case err != nil:
			w.log.Warn("cannot read a transaction; the watched escrows' wallets are asked instead", zap.String("tx", t.Hash), zap.Error(err))
			w.unreadTxs.Add(1)
			unread = append(unread, t.Hash)
		case tx.Unsupported():
			w.log.Warn("a transaction of a kind the scanner cannot read; the watched escrows' wallets are asked instead",
				zap.String("tx", t.Hash), zap.Uint8("rct_type", tx.RCTType))
			w.unreadTxs.Add(1)
			w.unreadOutputs.Add(int64(len(tx.Outputs)))
			unread = append(unread, t.Hash)
		default:
			txs = append(txs, tx)
		}
	}
	return txs, unread
}

// wakeEvery bounds how often unreadable transactions wake the watched escrows: once a fork
// makes most transactions unreadable, each escrow's wallet is asked every 10 blocks or so,
// not on every pass.
const wakeEvery = 10

// wakeAll tells every watched escrow that a transaction it may be paid by could not be read
// (Seen.Unread): its workflow asks its wallet, which can. At most once per wakeEvery blocks.
func (w *Watcher) wakeAll(ctx context.Context, unread []string, where Seen) {
	if len(unread) == 0 {
		return
	}
	at := max(where.Height, where.NextHeight)
	if w.wokeAt != 0 && at < w.wokeAt+wakeEvery {
		return
	}
	w.wokeAt = at
	where.TxHash, where.Unread = unread[0], true
	for _, id := range w.Watched() {
		w.notify(ctx, id, where)
	}
}

// scan scans txs and logs the outputs to watched escrows that do not count.
func (w *Watcher) scan(sc *scan.Scanner, txs []*scan.Tx, height uint64) (scan.Result, error) {
	if len(txs) == 0 {
		return scan.Result{}, nil
	}
	res, err := sc.ScanTxs(txs, w.cfg.Workers)
	if err != nil {
		return res, fmt.Errorf("watcher: scan at height %d: %w", height, err)
	}
	for _, r := range res.Rejected {
		w.log.Warn("an output to a watched escrow is not counted", zap.String("escrow_id", r.KeyID), zap.String("tx", r.TxHash),
			zap.Int("output", r.OutputIndex), zap.Error(r.Err))
	}
	return res, nil
}

// tell notifies each paid escrow of its matches, found where says (Height, or InPool with
// NextHeight).
func (w *Watcher) tell(ctx context.Context, matches []scan.Match, where Seen) {
	for _, m := range matches {
		s := where
		s.TxHash, s.OutputIndex, s.Amount, s.UnlockTime = m.TxHash, m.OutputIndex, m.Amount, m.UnlockTime
		w.notify(ctx, m.KeyID, s)
	}
}

// notify tells an escrow; a failure is kept and retried at the start of the next pass.
func (w *Watcher) notify(ctx context.Context, escrowID string, s Seen) {
	if err := w.cfg.Notify(ctx, escrowID, s); err != nil {
		w.log.Warn("tell an escrow about its payment; retrying next pass", zap.String("escrow_id", escrowID), zap.String("tx", s.TxHash), zap.Error(err))
		w.pending = append(w.pending, notice{escrowID: escrowID, seen: s})
		return
	}
	if s.Unread {
		w.log.Info("escrow asked to check its wallet: a transaction could not be read", zap.String("escrow_id", escrowID), zap.String("tx", s.TxHash))
		return
	}
	w.seen.Add(1)
	w.log.Info("payment seen", zap.String("escrow_id", escrowID), zap.String("tx", s.TxHash), zap.Uint64("amount", s.Amount),
		zap.Uint64("height", s.Height), zap.Bool("in_pool", s.InPool))
}

// redeliver retries the notices that failed, once each per pass, dropping those of escrows
// no longer watched (funded or ended meanwhile).
func (w *Watcher) redeliver(ctx context.Context) {
	pending := w.pending
	w.pending = nil
	for _, n := range pending {
		if _, ok := w.keys[n.escrowID]; ok {
			w.notify(ctx, n.escrowID, n.seen)
		}
	}
}

// Watched lists the escrows the leader watches now, sorted (for tests and logs).
func (w *Watcher) Watched() []string { return slices.Sorted(maps.Keys(w.keys)) }
