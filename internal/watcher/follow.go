package watcher

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// FollowState is where the watcher sees an escrow's followed transactions (its payout's, or
// its funding payments), taken together: Gone if one is neither in the pool nor in the
// chain; otherwise InPool if one still waits there, and Confirmations, the depth of the
// shallowest, capped at the target. TxHash is the transaction it is about (the one gone, or
// the shallowest).
type FollowState struct {
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

// followTxs is the last step of a pass: when a block came or the followed hashes changed, it
// asks monerod where the followed transactions are, and signals each escrow whose state
// changed since it was last told (this term): a payout at each change, funding payments once
// they are all deep enough or one is gone, after which they are no longer followed. A signal
// that fails is tried again on the next pass; the escrow's own polls cover a watcher that is
// down.
func (w *Watcher) followTxs(ctx context.Context, count uint64) error {
	if w.cfg.NotifyPayout == nil && w.cfg.NotifyFunding == nil {
		return nil
	}
	followed, err := w.cfg.Store.FollowedTxs(ctx)
	if err != nil {
		return err
	}
	hashes := make([]string, 0, len(followed))
	for _, f := range followed {
		hashes = append(hashes, f.EscrowID+"/"+f.Purpose+"/"+f.TxHash)
	}
	if count == w.followCount && slices.Equal(hashes, w.followHashes) && !w.followRetry {
		return nil
	}
	if w.told == nil {
		w.told = map[string]FollowState{}
	}
	if len(followed) == 0 {
		w.followCount, w.followHashes, w.followRetry, w.told = count, hashes, false, map[string]FollowState{}
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
	byKey := map[string][]store.Followed{}
	var keys []string
	for _, f := range followed {
		k := f.EscrowID + "/" + f.Purpose
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], f)
	}
	told := make(map[string]FollowState, len(keys))
	var failed []error
	for _, k := range keys {
		fs := byKey[k]
		s := payoutState(fs, states, count)
		id, notify, funding := fs[0].EscrowID, w.cfg.NotifyPayout, fs[0].Purpose == store.PurposeFunding
		deep := s.Gone || (!s.InPool && s.Confirmations >= fs[0].Target)
		if funding {
			notify = w.cfg.NotifyFunding
		}
		unfollow := func() {
			if err := w.cfg.Store.UnfollowFunding(ctx, id); err != nil {
				failed = append(failed, fmt.Errorf("escrow %s: %w", id, err))
			}
		}
		if last, ok := w.told[k]; ok && last == s {
			told[k] = s
			if funding && deep {
				unfollow() // told, but still followed: the unfollow after the signal failed
			}
			continue
		}
		if funding && !deep {
			told[k] = s // not deep yet: nothing to tell
			continue
		}
		if notify == nil {
			continue
		}
		if err := w.fence(); err != nil {
			return err
		}
		if err := notify(ctx, id, s); err != nil {
			failed = append(failed, fmt.Errorf("escrow %s: %w", id, err))
			if last, ok := w.told[k]; ok {
				told[k] = last
			}
			continue
		}
		told[k] = s
		if funding {
			// Told once: the escrow's check decides from here. A failed unfollow is tried
			// again on the next pass, or told again by a later term (one more check).
			unfollow()
		}
	}
	w.told, w.followCount, w.followHashes, w.followRetry = told, count, hashes, len(failed) > 0
	if len(failed) > 0 {
		w.log.Warn("could not tell escrows about their followed transactions; trying again next pass", zap.Error(errors.Join(failed...)))
	}
	return nil
}

// payoutState takes an escrow's followed transactions together, count being the chain's
// length (a transaction in block h has count-h confirmations).
func payoutState(fs []store.Followed, states map[string]TxState, count uint64) FollowState {
	var out FollowState
	shallowest := ^uint64(0)
	for _, f := range fs {
		st := states[f.TxHash]
		switch {
		case st.Missing:
			return FollowState{TxHash: f.TxHash, Gone: true}
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
