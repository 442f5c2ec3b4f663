package watcher

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/internal/scan"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/moneroaddr"
)

// refreshKeys reloads the watched escrows and rebuilds the scanner when their keys changed.
// A change scans only what it must: keys new since the last pass are queued for the pool's
// transactions already scanned (newKeys) and the registrations' pasts are read again from the
// store (stale); a removed key is simply dropped, with its pool matches.
func (w *Watcher) refreshKeys(ctx context.Context) error {
	watches, err := w.cfg.Store.Watches(ctx)
	if err != nil && len(watches) == 0 {
		return err
	}
	if err != nil {
		// Rows that do not open are named in err; the others are watched all the same.
		w.log.Error("some watched escrows cannot be read; watching the rest", zap.Error(err))
	}
	next := make(map[string]store.Watch, len(watches))
	var fresh []store.Watch
	changed := len(watches) != len(w.keys) || w.scanner == nil
	for _, x := range watches {
		next[x.EscrowID] = x
		old, ok := w.keys[x.EscrowID]
		if ok && old == x {
			continue
		}
		changed = true
		if !ok || old.Address != x.Address || old.ViewKey != x.ViewKey {
			fresh = append(fresh, x)
		}
	}
	if !changed {
		return nil
	}
	w.stale = true // a new or lowered registration may need its past scanned
	var gone []string
	for id, old := range w.keys {
		if x, ok := next[id]; !ok || x.Address != old.Address || x.ViewKey != old.ViewKey {
			gone = append(gone, id)
		}
	}
	if w.scanner == nil || len(fresh) > 0 || len(gone) > 0 {
		sc, err := w.newScanner(watches)
		if err != nil {
			return err
		}
		w.scanner = sc
		w.watched.Store(int64(sc.Len()))
	}
	first := w.keys == nil
	w.keys = next
	w.dropPoolMatches(gone)
	if !first { // a new term has scanned no pool transaction yet
		w.newKeys = append(w.newKeys, fresh...)
	}
	return nil
}

// dropPoolMatches forgets the pool matches of escrows no longer watched (or watched with
// another key), so their blocks do not report them.
func (w *Watcher) dropPoolMatches(ids []string) {
	if len(ids) == 0 {
		return
	}
	for _, p := range w.seenPool {
		p.matches = slices.DeleteFunc(p.matches, func(m scan.Match) bool { return slices.Contains(ids, m.KeyID) })
	}
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

// readBlock scans a block's miner transaction and transactions with sc. A transaction the
// main scanner already scanned in the pool is not scanned again: its matches are reused, so
// each transaction costs one scan. It returns the matches and the transactions it could not read.
func (w *Watcher) readBlock(ctx context.Context, b Block, sc *scan.Scanner) ([]scan.Match, []string, error) {
	if sc == nil || sc.Len() == 0 {
		return nil, nil, nil
	}
	var todo []string
	var known []scan.Match
	for _, h := range b.TxHashes {
		if p, ok := w.seenPool[h]; ok && sc == w.scanner {
			known = append(known, p.matches...)
			continue
		}
		todo = append(todo, h)
	}
	raw, err := w.cfg.Daemon.Transactions(ctx, todo)
	if err != nil {
		return nil, nil, err
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
		return nil, nil, err
	}
	return append(known, res.Matches...), unread, nil
}

// scanBlock scans a block with the main scanner and tells the escrows paid. It returns the
// notices that could not be delivered, which the caller records with the block.
func (w *Watcher) scanBlock(ctx context.Context, b Block) ([]store.Notice, error) {
	matches, unread, err := w.readBlock(ctx, b, w.scanner)
	if err != nil {
		return nil, err
	}
	failed, err := w.tell(ctx, matches, Seen{Height: b.Height})
	if err != nil {
		return nil, err
	}
	more, err := w.wakeAll(ctx, unread, Seen{Height: b.Height})
	return append(failed, more...), err
}

// poolTx is a pool transaction the leader has read: the parsed transaction (nil if it could
// not be read), kept so a key registered later is scanned against it without a fetch, and
// its matches, reused when it is mined.
type poolTx struct {
	tx      *scan.Tx
	matches []scan.Match
}

// scanPool scans the pool's transactions not seen yet with every key, and those seen before
// with the keys registered since (newKeys), so a payment is noticed before it is mined; its
// block tells the escrow again, with the height. next is the next block's height.
func (w *Watcher) scanPool(ctx context.Context, next uint64) error {
	if w.scanner == nil || w.scanner.Len() == 0 {
		w.newKeys = nil // the pool is scanned in full once there are keys
		return nil
	}
	hashes, err := w.cfg.Daemon.PoolHashes(ctx)
	if err != nil {
		return err
	}
	where := Seen{InPool: true, NextHeight: next}
	if err := w.scanPoolForNewKeys(ctx, hashes, where); err != nil {
		return err
	}
	now := make(map[string]*poolTx, len(hashes))
	var fresh []string
	for _, h := range hashes {
		p, ok := w.seenPool[h]
		if !ok {
			fresh = append(fresh, h)
			p = &poolTx{}
		}
		now[h] = p
	}
	raw, err := w.cfg.Daemon.Transactions(ctx, fresh)
	if err != nil {
		// A transaction may leave the pool between the two calls (mined or dropped): its
		// block, or the next pass, covers it.
		w.log.Debug("read new pool transactions; trying again next pass", zap.Error(err))
		return nil
	}
	txs, unread := w.parse(raw)
	for _, tx := range txs {
		now[tx.Hash].tx = tx
	}
	res, err := w.scan(w.scanner, txs, 0)
	if err != nil {
		return err
	}
	for _, m := range res.Matches {
		now[m.TxHash].matches = append(now[m.TxHash].matches, m)
	}
	failed, err := w.tell(ctx, res.Matches, where)
	if err != nil {
		return err
	}
	more, err := w.wakeAll(ctx, unread, where)
	if err != nil {
		return err
	}
	if err := w.keep(ctx, append(failed, more...)); err != nil {
		return err // the fresh transactions are read again next pass
	}
	w.seenPool = now // forget what left the pool
	return nil
}

// scanPoolForNewKeys scans the pool transactions already read, and still in the pool, with
// the keys registered since: the other escrows hear nothing again.
func (w *Watcher) scanPoolForNewKeys(ctx context.Context, hashes []string, where Seen) error {
	var keys []store.Watch
	for _, x := range w.newKeys {
		if k, ok := w.keys[x.EscrowID]; ok && k.Address == x.Address && k.ViewKey == x.ViewKey {
			keys = append(keys, k)
		}
	}
	var txs []*scan.Tx
	for _, h := range hashes {
		if p, ok := w.seenPool[h]; ok && p.tx != nil {
			txs = append(txs, p.tx)
		}
	}
	if len(keys) == 0 || len(txs) == 0 {
		w.newKeys = nil
		return nil
	}
	sc, err := w.newScanner(keys)
	if err != nil {
		return err
	}
	res, err := w.scan(sc, txs, 0)
	if err != nil {
		return err
	}
	failed, err := w.tell(ctx, res.Matches, where)
	if err != nil {
		return err
	}
	if err := w.keep(ctx, failed); err != nil {
		return err
	}
	for _, m := range res.Matches {
		w.seenPool[m.TxHash].matches = append(w.seenPool[m.TxHash].matches, m)
	}
	w.newKeys = nil
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
// It returns the notices that could not be delivered.
func (w *Watcher) wakeAll(ctx context.Context, unread []string, where Seen) ([]store.Notice, error) {
	if len(unread) == 0 {
		return nil, nil
	}
	at := max(where.Height, where.NextHeight)
	if w.wokeAt != 0 && at < w.wokeAt+wakeEvery {
		return nil, nil
	}
	w.wokeAt = at
	where.TxHash, where.Unread = unread[0], true
	var failed []store.Notice
	for _, id := range w.Watched() {
		n, err := w.notify(ctx, id, where)
		if err != nil {
			return nil, err
		}
		failed = append(failed, n...)
	}
	return failed, nil
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

// Watched lists the escrows the leader watches now, sorted (for tests and logs).
func (w *Watcher) Watched() []string { return slices.Sorted(maps.Keys(w.keys)) }
