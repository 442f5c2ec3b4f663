package watcher

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// PayoutState is where the watcher sees an escrow's followed payout transactions, taken
// together: Gone if one is neither in the pool nor in the chain; otherwise InPool if one
// still waits there, and Confirmations, the depth of the shallowest, capped at the target.
// TxHash is the transaction it is about (the one gone, or the shallowest).
type PayoutState struct {
	TxHash        string
	Confirmations uint64
	InPool        bool
	Gone          bool
}

// TxState is where monerod has a transaction: in the pool, in a block, or nowhere (Missing).
type TxState struct {
	InPool  bool
	Height  uint64
	Missing bool
}

// TxStates asks monerod where the given transactions are (get_transactions, without their
// bodies). A hash it does not know is Missing, not an error.
func (d *Daemon) TxStates(ctx context.Context, hashes []string) (map[string]TxState, error) {
	out := make(map[string]TxState, len(hashes))
	for start := 0; start < len(hashes); start += maxTxsPerCall {
		batch := hashes[start:min(start+maxTxsPerCall, len(hashes))]
		var res struct {
			Txs []struct {
				TxHash      string `json:"tx_hash"`
				InPool      bool   `json:"in_pool"`
				BlockHeight uint64 `json:"block_height"`
			} `json:"txs"`
			Missed []string `json:"missed_tx"`
			Status string   `json:"status"`
		}
		if err := d.post(ctx, "/get_transactions", map[string]any{"txs_hashes": batch}, &res); err != nil {
			return nil, err
		}
		if err := checkStatus("get_transactions", res.Status); err != nil {
			return nil, err
		}
		for _, t := range res.Txs {
			out[t.TxHash] = TxState{InPool: t.InPool, Height: t.BlockHeight}
		}
		for _, h := range res.Missed {
			out[h] = TxState{Missing: true}
		}
		for _, h := range batch {
			if _, ok := out[h]; !ok {
				return nil, fmt.Errorf("%w: get_transactions said nothing of %s", ErrDaemon, h)
			}
		}
	}
	return out, nil
}

// followPayouts is the last step of a pass: when a block came or the followed hashes
// changed, it asks monerod where the followed payout transactions are, and signals each
// escrow whose payout's state changed since it was last told (this term). A signal that
// fails is tried again on the next pass; the escrow's safety-net poll covers a watcher that
// is down.
func (w *Watcher) followPayouts(ctx context.Context, count uint64) error {
	if w.cfg.NotifyPayout == nil {
		return nil
	}
	followed, err := w.cfg.Store.FollowedPayouts(ctx)
	if err != nil {
		return err
	}
	hashes := make([]string, 0, len(followed))
	for _, f := range followed {
		hashes = append(hashes, f.EscrowID+"/"+f.TxHash)
	}
	if count == w.followCount && slices.Equal(hashes, w.followHashes) && !w.followRetry {
		return nil
	}
	if w.told == nil {
		w.told = map[string]PayoutState{}
	}
	if len(followed) == 0 {
		w.followCount, w.followHashes, w.followRetry, w.told = count, hashes, false, map[string]PayoutState{}
		return nil
	}
	txs := make([]string, 0, len(followed))
	for _, f := range followed {
		if !slices.Contains(txs, f.TxHash) {
			txs = append(txs, f.TxHash)
		}
	}
	states, err := w.cfg.Daemon.TxStates(ctx, txs)
	if err != nil {
		return err
	}
	byEscrow := map[string][]store.Followed{}
	var ids []string
	for _, f := range followed {
		if _, ok := byEscrow[f.EscrowID]; !ok {
			ids = append(ids, f.EscrowID)
		}
		byEscrow[f.EscrowID] = append(byEscrow[f.EscrowID], f)
	}
	told := make(map[string]PayoutState, len(ids))
	var failed []error
	for _, id := range ids {
		s := payoutState(byEscrow[id], states, count)
		if last, ok := w.told[id]; ok && last == s {
			told[id] = s
			continue
		}
		if err := w.fence(); err != nil {
			return err
		}
		if err := w.cfg.NotifyPayout(ctx, id, s); err != nil {
			failed = append(failed, fmt.Errorf("escrow %s: %w", id, err))
			if last, ok := w.told[id]; ok {
				told[id] = last
			}
			continue
		}
		told[id] = s
	}
	w.told, w.followCount, w.followHashes, w.followRetry = told, count, hashes, len(failed) > 0
	if len(failed) > 0 {
		w.log.Warn("could not tell escrows about their payouts; trying again next pass", zap.Error(errors.Join(failed...)))
	}
	return nil
}

// payoutState takes an escrow's followed transactions together, count being the chain's
// length (a transaction in block h has count-h confirmations).
func payoutState(fs []store.Followed, states map[string]TxState, count uint64) PayoutState {
	var out PayoutState
	shallowest := ^uint64(0)
	for _, f := range fs {
		st := states[f.TxHash]
		switch {
		case st.Missing:
			return PayoutState{TxHash: f.TxHash, Gone: true}
		case st.InPool:
			out.InPool, shallowest, out.TxHash = true, 0, f.TxHash
		default:
			depth := min(count-min(count, st.Height), f.Target)
			if depth < shallowest {
				shallowest, out.TxHash = depth, f.TxHash
			}
		}
	}
	out.Confirmations = shallowest
	return out
}
