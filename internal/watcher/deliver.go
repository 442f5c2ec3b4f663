package watcher

import (
	"context"
	"encoding/json"
	"fmt"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/internal/scan"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// maxRedeliver bounds the kept notices one pass tries to deliver.
const maxRedeliver = 1000

// sighting names one output seen paying one escrow.
type sighting struct {
	escrowID, txHash string
	output           int
}

// tell notifies each paid escrow of its matches, found where says (Height, or InPool with
// NextHeight). It returns the notices that could not be delivered, to keep in the store.
func (w *Watcher) tell(ctx context.Context, matches []scan.Match, where Seen) ([]store.Notice, error) {
	var failed []store.Notice
	for _, m := range matches {
		s := where
		s.TxHash, s.OutputIndex, s.Amount, s.UnlockTime = m.TxHash, m.OutputIndex, m.Amount, m.UnlockTime
		if _, done := w.redelivered[sighting{m.KeyID, m.TxHash, m.OutputIndex}]; done && s.InPool {
			continue
		}
		n, err := w.notify(ctx, m.KeyID, s)
		if err != nil {
			return nil, err
		}
		failed = append(failed, n...)
	}
	return failed, nil
}

// notify tells an escrow. A failure is returned as a notice to keep (the caller writes it
// with its block, or alone for the pool), and the leader that next leads delivers it. The
// error is the fence's: a leader that cannot confirm its lock tells no one.
func (w *Watcher) notify(ctx context.Context, escrowID string, s Seen) ([]store.Notice, error) {
	if err := w.fence(); err != nil {
		return nil, err
	}
	if err := w.cfg.Notify(ctx, escrowID, s); err != nil {
		w.log.Warn("tell an escrow about its payment; kept to retry", zap.String("escrow_id", escrowID), zap.String("tx", s.TxHash), zap.Error(err))
		n, err := toNotice(escrowID, s)
		if err != nil {
			return nil, err
		}
		return []store.Notice{n}, nil
	}
	w.delivered(escrowID, s)
	return nil, nil
}

// delivered counts and logs a delivered notice.
func (w *Watcher) delivered(escrowID string, s Seen) {
	if s.Unread {
		w.log.Info("escrow asked to check its wallet: a transaction could not be read", zap.String("escrow_id", escrowID), zap.String("tx", s.TxHash))
		return
	}
	w.seen.Add(1)
	w.log.Info("payment seen", zap.String("escrow_id", escrowID), zap.String("tx", s.TxHash), zap.Uint64("amount", s.Amount),
		zap.Uint64("height", s.Height), zap.Bool("in_pool", s.InPool))
}

// toNotice is the stored form of an undelivered Seen.
func toNotice(escrowID string, s Seen) (store.Notice, error) {
	payload, err := json.Marshal(s)
	if err != nil {
		return store.Notice{}, fmt.Errorf("watcher: encode a notice to escrow %s: %w", escrowID, err)
	}
	return store.Notice{EscrowID: escrowID, TxHash: s.TxHash, OutputIndex: s.OutputIndex, Height: s.Height, InPool: s.InPool, Payload: payload}, nil
}

// keep stores notices found outside a block's record (pool sightings, backfills).
func (w *Watcher) keep(ctx context.Context, failed []store.Notice) error {
	if len(failed) == 0 {
		return nil
	}
	if err := w.fence(); err != nil {
		return err
	}
	return w.cfg.Store.SaveNotices(ctx, failed)
}

// redeliver retries the kept notices, oldest first, deleting each once delivered, and those
// of escrows no longer watched (funded or ended meanwhile). It stops at the first failure:
// Temporal is still down, and the rest wait for the next pass.
func (w *Watcher) redeliver(ctx context.Context) error {
	kept, err := w.cfg.Store.Notices(ctx, maxRedeliver)
	if err != nil {
		return err
	}
	for _, n := range kept {
		var s Seen
		_, watched := w.keys[n.EscrowID]
		if err := json.Unmarshal(n.Payload, &s); err != nil || !watched {
			if err != nil {
				w.log.Error("a kept notice does not decode; dropping it", zap.String("escrow_id", n.EscrowID), zap.Error(err))
			}
			w.forget(ctx, n)
			continue
		}
		if err := w.fence(); err != nil {
			return err
		}
		if err := w.cfg.Notify(ctx, n.EscrowID, s); err != nil {
			w.log.Warn("deliver a kept notice; retrying next pass", zap.String("escrow_id", n.EscrowID), zap.String("tx", s.TxHash), zap.Error(err))
			return nil
		}
		w.delivered(n.EscrowID, s)
		w.forget(ctx, n)
		if s.InPool {
			w.redelivered[sighting{n.EscrowID, s.TxHash, s.OutputIndex}] = struct{}{}
		}
	}
	return nil
}

// forget deletes a kept notice; one that stays is delivered again, which the escrow takes as
// one more sighting.
func (w *Watcher) forget(ctx context.Context, n store.Notice) {
	if err := w.cfg.Store.DeleteNotice(ctx, n.ID); err != nil {
		w.log.Warn("delete a delivered notice", zap.String("escrow_id", n.EscrowID), zap.Error(err))
	}
}
