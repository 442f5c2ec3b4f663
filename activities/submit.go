package activities

import (
	"context"
	"fmt"
	"slices"

	"go.temporal.io/sdk/activity"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// SubmitInput submits a signed transaction set.
type SubmitInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	SignedTx string      `json:"signed_tx"`
	// TxHash is the only hash in histories written before multi-tx sweeps.
	TxHash string `json:"tx_hash"`
	// TxHashes are all the set's hashes; empty means []string{TxHash}.
	TxHashes []string `json:"tx_hashes,omitempty"`
}

// hashes is TxHashes, or TxHash for an old history.
func (in SubmitInput) hashes() []string { return hashesOr(in.TxHashes, in.TxHash) }

// TxStatusInput asks about a transaction set the escrow sent.
type TxStatusInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	// TxHash is the only hash in histories written before multi-tx sweeps.
	TxHash string `json:"tx_hash"`
	// TxHashes are all the set's hashes; empty means []string{TxHash}.
	TxHashes []string `json:"tx_hashes,omitempty"`
}

// TxStatusResult says whether the wallet knows the whole set and how deep it is.
type TxStatusResult struct {
	// Known means the wallet knows every transaction of the set.
	Known bool `json:"known"`
	// Confirmations is the shallowest transaction's depth: the set is as final as it.
	Confirmations uint64 `json:"confirmations"`
	Opens         int    `json:"opens"`
	// Failed means a transaction was dropped by the daemon or double spent: the payout
	// will not confirm and must be rebuilt.
	Failed bool `json:"failed,omitempty"`
	// Pending means a transaction is still in the pool.
	Pending bool `json:"pending,omitempty"`
}

// hashesOr is list, or the one hash an old history recorded.
func hashesOr(list []string, one string) []string {
	if len(list) > 0 {
		return list
	}
	return []string{one}
}

// SubmitPayout broadcasts the signed set. A retry first asks the wallet for every
// transaction by its hash: if the wallet knows them all, they were submitted, and
// submitting again could only be refused as a double spend. A first attempt does not ask:
// the workflow signs a new set for every submission it schedules (each get_transfer_by_txid
// costs about 45 ms on 0.18.5.3). A failed submission (-36, which
// 0.18.0.0 also gives for a daemon outage; -38; transport) is retried.
func (w *Wallet) SubmitPayout(ctx context.Context, in SubmitInput) (TxStatusResult, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return TxStatusResult{}, err
	}
	if err := w.yieldToSetup(ctx, in.EscrowID, yieldPayout); err != nil {
		return TxStatusResult{}, err
	}
	want := in.hashes()
	retry := activity.GetInfo(ctx).Attempt > 1
	var out TxStatusResult
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		if retry {
			st, err := w.txStatus(ctx, want)
			if err != nil || st.Known {
				out = st
				return err
			}
		}
		r, subErr := w.rpc.SubmitMultisig(ctx, walletrpc.SubmitMultisigRequest{TxDataHex: in.SignedTx})
		if subErr == nil {
			if !sameSet(r.TxHashList, want) {
				return nonRetryable(escrow.ErrTypeProtocol, fmt.Errorf("submit_multisig sent %v, expected %v", r.TxHashList, want))
			}
			out = TxStatusResult{Known: true, Pending: true} // relayed: in the daemon's pool
			return nil
		}
		// The submission failed, or only its answer did: the wallet knows a set it relayed.
		st, err := w.txStatus(ctx, want)
		out = st
		if !st.Known {
			return subErr
		}
		return err
	})
	if err != nil {
		return TxStatusResult{}, classifyPayout(fmt.Errorf("submit payout on %s: %w", name, err))
	}
	return out, nil
}

// PayoutStatus refreshes and reports how deep the payout is, and whether it failed.
func (w *Wallet) PayoutStatus(ctx context.Context, in TxStatusInput) (TxStatusResult, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return TxStatusResult{}, err
	}
	if err := w.yieldToSetup(ctx, in.EscrowID, yieldPoll); err != nil {
		return TxStatusResult{}, err
	}
	var out TxStatusResult
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		if _, err := w.rpc.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
			return err
		}
		out, err = w.txStatus(ctx, hashesOr(in.TxHashes, in.TxHash))
		return err
	})
	if err != nil {
		return TxStatusResult{}, classify(fmt.Errorf("payout status on %s: %w", name, err))
	}
	if !out.Known || out.Failed {
		out = w.askDaemon(ctx, hashesOr(in.TxHashes, in.TxHash), out)
	}
	return out, nil
}

// askDaemon overrules a wallet that does not know a set, or calls it failed, when monerod
// has every transaction of it in a block or in its pool: the set is on its way, and building
// another would pay twice. Without a daemon, or when it cannot answer, the wallet's word stands.
func (w *Wallet) askDaemon(ctx context.Context, hashes []string, wallets TxStatusResult) TxStatusResult {
	if w.daemon == nil {
		return wallets
	}
	fates, err := w.daemon.TxFates(ctx, hashes)
	if err != nil {
		activity.GetLogger(ctx).Warn("monerod could not say where the payout is; the wallet's word stands", "error", err)
		return wallets
	}
	info, err := w.daemon.GetInfo(ctx)
	if err != nil {
		activity.GetLogger(ctx).Warn("monerod could not say its height; the wallet's word stands", "error", err)
		return wallets
	}
	out := TxStatusResult{Known: true, Opens: wallets.Opens}
	for i, h := range hashes {
		f := fates[h]
		if !f.Known {
			return wallets
		}
		depth := uint64(0)
		if !f.InPool && info.Height > f.Height {
			depth = info.Height - f.Height
		}
		out.Pending = out.Pending || f.InPool
		if i == 0 || depth < out.Confirmations {
			out.Confirmations = depth
		}
	}
	activity.GetLogger(ctx).Info("the wallet did not know the payout, or called it failed; monerod has it", "tx_hashes", hashes, "confirmations", out.Confirmations)
	return out
}

// txStatus looks every hash up (Opens is left for the caller).
func (w *Wallet) txStatus(ctx context.Context, hashes []string) (TxStatusResult, error) {
	out := TxStatusResult{Known: true}
	for i, h := range hashes {
		r, err := w.rpc.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: h})
		if walletrpc.IsUnknownTx(err) {
			out.Known = false
			continue
		}
		if err != nil {
			return TxStatusResult{}, err
		}
		if i == 0 || r.Transfer.Confirmations < out.Confirmations {
			out.Confirmations = r.Transfer.Confirmations
		}
		entries := r.Transfers
		if len(entries) == 0 {
			entries = []walletrpc.Transfer{r.Transfer}
		}
		for _, t := range entries {
			out.Failed = out.Failed || t.Type == walletrpc.TransferTypeFailed || t.DoubleSpendSeen
			out.Pending = out.Pending || t.Type == walletrpc.TransferTypePending || t.Type == walletrpc.TransferTypePool
		}
	}
	if !out.Known {
		out.Confirmations = 0
	}
	return out, nil
}

// sameSet reports whether a and b hold the same hashes, order aside.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
