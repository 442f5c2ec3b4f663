package activities

import (
	"context"
	"fmt"
	"math/bits"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// PayoutInput asks the first signer for the payout transaction: under escrow.ExactShares
// the Destinations, spending exactly SpendableAtomic; before it, everything the escrow holds,
// minus the fee, to Address.
type PayoutInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	Address  string      `json:"address"`
	// Destinations are the shares before the fee (escrow.Division.Destinations); FeeFrom is
	// the index of the one that pays the fee. Empty in histories before ExactShares.
	Destinations []escrow.Share `json:"destinations,omitempty"`
	FeeFrom      int            `json:"fee_from,omitempty"`
	// SpendableAtomic is what the holdings check found spendable and the workflow divided;
	// DustBelowAtomic its dust threshold: outputs below it are frozen for the build.
	SpendableAtomic uint64 `json:"spendable_atomic,omitempty"`
	DustBelowAtomic uint64 `json:"dust_below_atomic,omitempty"`
}

// CreatePayoutResult is the unsigned (one-of-two signed) transaction set.
type CreatePayoutResult struct {
	// Txset is readable by anyone holding the view key: a secret.
	Txset string `json:"txset"`
	Opens int    `json:"opens"`
	// TxCount is how many transactions the sweep built (many small outputs split a
	// sweep): tx_hash_list's length, else fee_list's; 0 when sweep_all said neither.
	TxCount int `json:"tx_count,omitempty"`
}

// SignPayoutInput asks the second signer to check and sign.
type SignPayoutInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	Txset    string      `json:"txset"`
	// Address must be the only recipient of every transaction.
	Address string `json:"address"`
	// FundedAtomic is the escrow's balance as fixed when the payout was decided (the
	// wallet's total, less time-locked payments no sweep can spend), not the unlocked
	// balance that moves as outputs unlock: the payout's amounts plus fees must equal it
	// exactly, so nothing is left behind in the escrow.
	FundedAtomic uint64 `json:"funded_atomic"`
	// MaxFeeAtomic bounds the sum of all the transactions' fees.
	MaxFeeAtomic uint64 `json:"max_fee_atomic"`
	// Division, under escrow.ExactShares, is the decision: every address must get exactly
	// its share of FundedAtomic (checkShares). Nil in histories before it: one recipient,
	// Address (checkPayout).
	Division *escrow.Division `json:"division,omitempty"`
}

// SignPayoutResult is the fully signed transaction set.
type SignPayoutResult struct {
	SignedTx string `json:"signed_tx"`
	// TxHash is the first of TxHashes, kept for histories written before multi-tx sweeps.
	TxHash string `json:"tx_hash"`
	// AmountAtomic and FeeAtomic are sums over all the transactions.
	AmountAtomic uint64 `json:"amount_atomic"`
	FeeAtomic    uint64 `json:"fee_atomic"`
	Opens        int    `json:"opens"`
	// TxHashes are all the signed transactions' hashes, in describe_transfer order.
	TxHashes []string `json:"tx_hashes,omitempty"`
	// Shares is what the signed set pays each destination (escrow.ExactShares).
	Shares []escrow.Share `json:"shares,omitempty"`
}

// CreatePayout builds the payout on the first signer: a sweep of every unlocked output of
// the escrow to the payee, so the payee gets the whole escrowed amount minus the fee.
func (w *Wallet) CreatePayout(ctx context.Context, in PayoutInput) (CreatePayoutResult, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return CreatePayoutResult{}, err
	}
	if err := w.yieldToSetup(ctx, in.EscrowID, yieldPayout); err != nil {
		return CreatePayoutResult{}, err
	}
	var out CreatePayoutResult
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		if len(in.Destinations) > 0 {
			return w.buildExact(ctx, in, &out)
		}
		r, err := w.rpc.SweepAll(ctx, walletrpc.SweepAllRequest{Address: in.Address})
		if err != nil {
			return err
		}
		out.Txset, out.TxCount = r.MultisigTxset, len(r.TxHashList)
		if out.TxCount == 0 {
			out.TxCount = len(r.FeeList) // a multisig sweep has no hashes yet, but one fee per tx
		}
		// Building the txset used this signer's nonces; 0.18.0.0 does not store, and a
		// crash that brought them back could make it sign twice with them.
		return w.rpc.Store(ctx)
	})
	if err != nil {
		return CreatePayoutResult{}, classifyPayout(fmt.Errorf("create payout on %s: %w", name, err))
	}
	if out.Txset == "" {
		return CreatePayoutResult{}, nonRetryable(escrow.ErrTypeProtocol, fmt.Errorf("create payout on %s: no multisig txset returned", name))
	}
	return out, nil
}

// SignPayout checks the transaction set with describe_transfer before signing (see
// checkPayout); anything else is refused, never signed. After signing it stores the wallet
// so the used nonces stay used across a crash.
func (w *Wallet) SignPayout(ctx context.Context, in SignPayoutInput) (SignPayoutResult, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return SignPayoutResult{}, err
	}
	if err := w.caller.checkDecided(ctx, in); err != nil {
		return SignPayoutResult{}, err
	}
	if err := w.yieldToSetup(ctx, in.EscrowID, yieldPayout); err != nil {
		return SignPayoutResult{}, err
	}
	var out SignPayoutResult
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		d, err := w.rpc.DescribeTransfer(ctx, walletrpc.DescribeTransferRequest{MultisigTxset: in.Txset})
		if err != nil {
			return err
		}
		if in.Division != nil {
			out.AmountAtomic, out.FeeAtomic, out.Shares, err = checkShares(d, in)
		} else {
			out.AmountAtomic, out.FeeAtomic, err = checkPayout(d, in)
		}
		if err != nil {
			return err
		}
		s, err := w.rpc.SignMultisig(ctx, walletrpc.SignMultisigRequest{TxDataHex: in.Txset})
		if err != nil {
			return err
		}
		if err := w.rpc.Store(ctx); err != nil {
			return fmt.Errorf("store after signing: %w", err)
		}
		if len(s.TxHashList) != len(d.Desc) {
			return nonRetryable(escrow.ErrTypeProtocol, fmt.Errorf("sign_multisig returned %d transaction hashes for %d transactions", len(s.TxHashList), len(d.Desc)))
		}
		out.SignedTx, out.TxHash, out.TxHashes = s.TxDataHex, s.TxHashList[0], s.TxHashList
		return nil
	})
	if err != nil {
		return SignPayoutResult{}, classifyPayout(fmt.Errorf("sign payout on %s: %w", name, err))
	}
	return out, nil
}

// checkPayout is the rule a signer applies before its signature moves money: every
// transaction pays one recipient, the decided address, with no change; the fees together
// stay under the cap; and amounts plus fees spend exactly what the escrow holds.
func checkPayout(d walletrpc.DescribeTransferResult, in SignPayoutInput) (amount, fee uint64, err error) {
	refuse := func(format string, args ...any) (uint64, uint64, error) {
		return 0, 0, nonRetryable(escrow.ErrTypePayoutRejected, fmt.Errorf("refusing to sign: "+format, args...))
	}
	if len(d.Desc) == 0 {
		return refuse("no transactions in the set")
	}
	var sumAmount, sumFee checkedSum
	for i, t := range d.Desc {
		if len(t.Recipients) != 1 {
			return refuse("transaction %d has %d recipients, want 1", i, len(t.Recipients))
		}
		r := t.Recipients[0]
		if r.Address != in.Address {
			return refuse("transaction %d pays %.12s…, not the decided address %.12s…", i, r.Address, in.Address)
		}
		if t.ChangeAmount != 0 {
			return refuse("transaction %d keeps %d as change in the escrow", i, t.ChangeAmount)
		}
		sumAmount.add(r.Amount)
		sumFee.add(t.Fee)
	}
	if sumAmount.over || sumFee.over {
		return refuse("amounts or fees overflow")
	}
	amount, fee = sumAmount.v, sumFee.v
	if fee > in.MaxFeeAtomic {
		return refuse("fees %d exceed the sane maximum %d", fee, in.MaxFeeAtomic)
	}
	if total, c := bits.Add64(amount, fee, 0); c != 0 || total != in.FundedAtomic {
		return refuse("pays %d + fees %d, but the escrow holds %d", amount, fee, in.FundedAtomic)
	}
	return amount, fee, nil
}

// AddressInput asks the wallet-rpc whether an address is valid.
type AddressInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	Address  string      `json:"address"`
}

// AddressResult is the wallet-rpc's verdict.
type AddressResult struct {
	Valid   bool   `json:"valid"`
	Nettype string `json:"nettype"`
	Opens   int    `json:"opens"`
}

// ValidateAddress asks the wallet-rpc's validate_address, the same code that will later
// build the transaction, whether a payout address is usable.
func (w *Wallet) ValidateAddress(ctx context.Context, in AddressInput) (AddressResult, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return AddressResult{}, err
	}
	var out AddressResult
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		r, err := w.rpc.ValidateAddress(ctx, walletrpc.ValidateAddressRequest{Address: in.Address})
		out.Valid, out.Nettype = r.Valid && !r.Integrated, r.Nettype
		return err
	})
	if err != nil {
		return AddressResult{}, classify(fmt.Errorf("validate address: %w", err))
	}
	return out, nil
}

// classifyPayout marks the errors that a fresh export/import fixes as escrow.ErrTypeStale, and
// locked funds and a failed submission as retryable (funds unlock with the next blocks; the
// daemon comes back).
func classifyPayout(err error) error {
	if appErr, ok := surfaceAppError(err); ok {
		return appErr
	}
	if walletrpc.IsNoUnlockedBalance(err) {
		// Not imported yet, or still locked: the workflow syncs again later; a wait, not a fault.
		return staleWait(err)
	}
	if code, ok := walletrpc.Code(err); ok {
		switch code {
		case walletrpc.CodeTxNotPossible, walletrpc.CodeMultisigSignature, walletrpc.CodeBadMultisigTxData:
			return nonRetryable(escrow.ErrTypeStale, err)
		case walletrpc.CodeNotEnoughUnlockedMoney:
			return waitFor(err) // still locked: a retry after the next blocks spends it
		case walletrpc.CodeMultisigSubmission:
			// 0.18.0.0 answers a daemon outage with -36 on submit_multisig: retry. A real
			// double spend also gets -36; PayoutStatus reports it as Failed.
			return err
		}
	}
	return classify(err)
}
