package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/crashpoint"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// FundingInput asks one role's wallet what has arrived at the escrow's address.
type FundingInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	// MinConfirmations is how deep a payment must be to count as arrived.
	MinConfirmations uint64 `json:"min_confirmations"`
}

// FundingResult sums the incoming payments. Time-locked payments (see countsAsFunding) are
// in TimeLocked*, never in Confirmed/Pending.
type FundingResult struct {
	ConfirmedAtomic uint64 `json:"confirmed_atomic"`
	PendingAtomic   uint64 `json:"pending_atomic"`
	// TxIDs are the counted payments' IDs, at most escrow.MaxFundingTxIDs of them.
	TxIDs []string `json:"tx_ids,omitempty"`
	Opens int      `json:"opens"`
	// TimeLockedAtomic sums every payment that does not count because of its unlock_time.
	TimeLockedAtomic uint64 `json:"time_locked_atomic,omitempty"`
	// TimeLocked lists those payments, at most escrow.MaxTimeLocked of them.
	TimeLocked []escrow.TimeLockedPayment `json:"time_locked,omitempty"`
	// Payments counts every incoming payment seen, counted or not, listed or not.
	Payments int `json:"payments,omitempty"`
	// Height is the wallet's height at the check, against which pool payments were judged.
	Height uint64 `json:"height,omitempty"`
}

// CheckFunding refreshes the wallet from the daemon and sums what has arrived. Every role's
// wallet sees the same incoming payments (they share the view key), so one role watches.
func (w *Wallet) CheckFunding(ctx context.Context, in FundingInput) (FundingResult, error) {
	crashpoint.At(crashpoint.FundingStart, 0)
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return FundingResult{}, err
	}
	if err := w.yieldToSetup(ctx, in.EscrowID, yieldPoll); err != nil {
		return FundingResult{}, err
	}
	var out FundingResult
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		if _, err := w.rpc.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
			return err
		}
		h, err := w.rpc.GetHeight(ctx)
		if err != nil {
			return err
		}
		res, err := w.rpc.GetTransfers(ctx, walletrpc.GetTransfersRequest{In: true, Pool: true})
		if err != nil {
			return err
		}
		out = sumFunding(res, h.Height, in.MinConfirmations, time.Now()) // Opens is set when withWallet returns
		return nil
	})
	if err != nil {
		return FundingResult{}, classify(fmt.Errorf("check funding of %s: %w", name, err))
	}
	return out, nil
}

// sumFunding applies countsAsFunding to every incoming and pool payment; it is pure so a
// retried call inside withWallet starts from nothing.
func sumFunding(res walletrpc.GetTransfersResult, height, minConfirmations uint64, now time.Time) FundingResult {
	out := FundingResult{Height: height}
	var locked timeLocked
	note := func(t walletrpc.Transfer, confirmed bool) {
		out.Payments++
		if !countsAsFunding(t, height, now) {
			locked.add(t)
			return
		}
		if confirmed {
			out.ConfirmedAtomic += t.Amount
		} else {
			out.PendingAtomic += t.Amount
		}
		if len(out.TxIDs) < escrow.MaxFundingTxIDs {
			out.TxIDs = append(out.TxIDs, t.TxID)
		}
	}
	for _, t := range res.In {
		note(t, t.Confirmations >= minConfirmations)
	}
	for _, t := range res.Pool {
		note(t, false)
	}
	out.TimeLockedAtomic, out.TimeLocked = locked.atomic, locked.payments
	return out
}

// ImportInput hands one signer the other signers' export infos.
type ImportInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	Infos    []string    `json:"infos"`
}

// ImportResult says how many outputs the import taught the wallet about.
type ImportResult struct {
	Outputs int `json:"outputs"`
	Opens   int `json:"opens"`
}

// ExportMultisigInfo refreshes the wallet and exports its multisig info (its partial key
// images and fresh signing nonces) for the other signer. Each export resets this wallet's
// nonces, so the workflow always imports the latest export, and redoes the whole sync when
// a later step finds it stale.
func (w *Wallet) ExportMultisigInfo(ctx context.Context, in WalletInput) (MultisigMessage, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return MultisigMessage{}, err
	}
	if err := w.yieldToSetup(ctx, in.EscrowID, yieldPayout); err != nil {
		return MultisigMessage{}, err
	}
	var out MultisigMessage
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		if _, err := w.rpc.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
			return err
		}
		r, err := w.rpc.ExportMultisigInfo(ctx)
		out.Info = r.Info
		return err
	})
	if err != nil {
		return MultisigMessage{}, classify(fmt.Errorf("export multisig info of %s: %w", name, err))
	}
	return out, nil
}

// ImportMultisigInfo imports the other signers' infos; importing the same infos twice is
// harmless, so a retry needs nothing special.
func (w *Wallet) ImportMultisigInfo(ctx context.Context, in ImportInput) (ImportResult, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return ImportResult{}, err
	}
	if err := w.yieldToSetup(ctx, in.EscrowID, yieldPayout); err != nil {
		return ImportResult{}, err
	}
	if len(in.Infos) == 0 {
		return ImportResult{}, nonRetryable(escrow.ErrTypeInvalidInput, fmt.Errorf("import into %s: no infos", name))
	}
	var out ImportResult
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		r, err := w.rpc.ImportMultisigInfo(ctx, walletrpc.ImportMultisigInfoRequest{Info: in.Infos})
		out.Outputs = r.NOutputs
		return err
	})
	if err != nil {
		return ImportResult{}, classify(fmt.Errorf("import multisig info into %s: %w", name, err))
	}
	return out, nil
}

// BalanceResult is what the escrow's wallet can spend now.
type BalanceResult struct {
	// UnlockedAtomic is what a sweep would spend (plus the fee it pays out of it).
	UnlockedAtomic uint64 `json:"unlocked_atomic"`
	TotalAtomic    uint64 `json:"total_atomic"`
	// ImportNeeded means the wallet cannot spend until the signers sync again.
	ImportNeeded bool `json:"import_needed"`
	Opens        int  `json:"opens"`
	// TimeLockedAtomic is the part of TotalAtomic held by still-locked payments whose
	// unlock_time fails countsAsFunding: no sweep can spend it soon, so the escrow is ready
	// to sweep once UnlockedAtomic + TimeLockedAtomic >= TotalAtomic.
	TimeLockedAtomic uint64 `json:"time_locked_atomic,omitempty"`
	// Holdings sorts the outputs for payouts under escrow.ExactShares (older histories
	// recorded none of it).
	Holdings
}

// SpendableBalance refreshes (unless in.Synced) and reports the unlocked balance and the
// holdings: the amount a signer checks a payout against.
func (w *Wallet) SpendableBalance(ctx context.Context, in WalletInput) (BalanceResult, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return BalanceResult{}, err
	}
	if err := w.yieldToSetup(ctx, in.EscrowID, yieldPoll); err != nil {
		return BalanceResult{}, err
	}
	var out BalanceResult
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		if !in.Synced {
			if _, err := w.rpc.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
				return err
			}
		}
		b, err := w.rpc.GetBalance(ctx, walletrpc.GetBalanceRequest{})
		if err != nil {
			return err
		}
		out.UnlockedAtomic, out.TotalAtomic, out.ImportNeeded = b.UnlockedBalance, b.Balance, b.MultisigImportNeeded
		// Only mined payments are in the balance, so "in" suffices here; the pool is for the
		// holdings.
		h, err := w.rpc.GetHeight(ctx)
		if err != nil {
			return err
		}
		res, err := w.rpc.GetTransfers(ctx, walletrpc.GetTransfersRequest{In: true, Pool: true})
		if err != nil {
			return err
		}
		out.TimeLockedAtomic = 0
		for _, t := range res.In {
			if t.Locked && !countsAsFunding(t, h.Height, time.Now()) {
				out.TimeLockedAtomic += t.Amount
			}
		}
		out.Holdings, err = w.holdings(ctx, h.Height, res)
		return err
	})
	if err != nil {
		return BalanceResult{}, classify(fmt.Errorf("balance of %s: %w", name, err))
	}
	return out, nil
}
