package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// ErrTypeStale is a payout step refused because the signers' multisig state is out of
// date (nonces used, import needed); the workflow redoes the export/import and tries again.
const ErrTypeStale = "MultisigStale"

// ErrTypePayoutRejected is a transaction that does not do what the decision says; it is
// never signed.
const ErrTypePayoutRejected = "PayoutRejected"

// PayoutInput asks the first signer for the transaction that pays everything the escrow
// holds, minus the fee, to Address.
type PayoutInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	Address  string      `json:"address"`
}

// CreatePayoutResult is the unsigned (one-of-two signed) transaction set.
type CreatePayoutResult struct {
	// Txset is readable by anyone holding the view key: a secret.
	Txset string `json:"txset"`
	Opens int    `json:"opens"`
}

// SignPayoutInput asks the second signer to check and sign.
type SignPayoutInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	Txset    string      `json:"txset"`
	// Address must be the only recipient; it must receive exactly FundedAtomic minus the fee.
	Address      string `json:"address"`
	FundedAtomic uint64 `json:"funded_atomic"`
	// MaxFeeAtomic bounds a sane fee.
	MaxFeeAtomic uint64 `json:"max_fee_atomic"`
}

// SignPayoutResult is the fully signed transaction.
type SignPayoutResult struct {
	SignedTx     string `json:"signed_tx"`
	TxHash       string `json:"tx_hash"`
	AmountAtomic uint64 `json:"amount_atomic"`
	FeeAtomic    uint64 `json:"fee_atomic"`
	Opens        int    `json:"opens"`
}

// SubmitInput submits a signed transaction.
type SubmitInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	SignedTx string      `json:"signed_tx"`
	TxHash   string      `json:"tx_hash"`
}

// TxStatusInput asks about a transaction the escrow sent.
type TxStatusInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	TxHash   string      `json:"tx_hash"`
}

// TxStatusResult says whether the wallet knows the transaction and how deep it is.
type TxStatusResult struct {
	Known         bool   `json:"known"`
	Confirmations uint64 `json:"confirmations"`
	Opens         int    `json:"opens"`
}

// CreatePayout builds the payout on the first signer: a sweep of every unlocked output of
// the escrow to the payee, so the payee gets the whole escrowed amount minus the fee.
func (w *Wallet) CreatePayout(ctx context.Context, in PayoutInput) (CreatePayoutResult, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return CreatePayoutResult{}, err
	}
	var out CreatePayoutResult
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		r, err := w.rpc.SweepAll(ctx, walletrpc.SweepAllRequest{Address: in.Address})
		out.Txset = r.MultisigTxset
		return err
	})
	if err != nil {
		return CreatePayoutResult{}, classifyPayout(fmt.Errorf("create payout on %s: %w", name, err))
	}
	if out.Txset == "" {
		return CreatePayoutResult{}, nonRetryable(ErrTypeProtocol, fmt.Errorf("create payout on %s: no multisig txset returned", name))
	}
	return out, nil
}

// SignPayout checks the transaction with describe_transfer before signing: one recipient,
// the decided address, the funded amount minus a sane fee. Anything else is refused, never
// signed.
func (w *Wallet) SignPayout(ctx context.Context, in SignPayoutInput) (SignPayoutResult, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return SignPayoutResult{}, err
	}
	var out SignPayoutResult
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		d, err := w.rpc.DescribeTransfer(ctx, walletrpc.DescribeTransferRequest{MultisigTxset: in.Txset})
		if err != nil {
			return err
		}
		if out.AmountAtomic, out.FeeAtomic, err = checkPayout(d, in); err != nil {
			return err
		}
		s, err := w.rpc.SignMultisig(ctx, walletrpc.SignMultisigRequest{TxDataHex: in.Txset})
		if err != nil {
			return err
		}
		if len(s.TxHashList) != 1 {
			return nonRetryable(ErrTypeProtocol, fmt.Errorf("sign_multisig returned %d transaction hashes, want 1", len(s.TxHashList)))
		}
		out.SignedTx, out.TxHash = s.TxDataHex, s.TxHashList[0]
		return nil
	})
	if err != nil {
		return SignPayoutResult{}, classifyPayout(fmt.Errorf("sign payout on %s: %w", name, err))
	}
	return out, nil
}

// checkPayout is the rule a signer applies before its signature moves money.
func checkPayout(d walletrpc.DescribeTransferResult, in SignPayoutInput) (amount, fee uint64, err error) {
	refuse := func(format string, args ...any) (uint64, uint64, error) {
		return 0, 0, nonRetryable(ErrTypePayoutRejected, fmt.Errorf("refusing to sign: "+format, args...))
	}
	if len(d.Desc) != 1 {
		return refuse("%d transactions in the set, want 1", len(d.Desc))
	}
	t := d.Desc[0]
	if len(t.Recipients) != 1 {
		return refuse("%d recipients, want 1", len(t.Recipients))
	}
	r := t.Recipients[0]
	if r.Address != in.Address {
		return refuse("recipient %.12s… is not the decided address %.12s…", r.Address, in.Address)
	}
	if t.Fee > in.MaxFeeAtomic {
		return refuse("fee %d exceeds the sane maximum %d", t.Fee, in.MaxFeeAtomic)
	}
	if r.Amount+t.Fee != in.FundedAtomic {
		return refuse("pays %d + fee %d, but the escrow holds %d", r.Amount, t.Fee, in.FundedAtomic)
	}
	if t.ChangeAmount != 0 {
		return refuse("keeps %d as change in the escrow", t.ChangeAmount)
	}
	return r.Amount, t.Fee, nil
}

// SubmitPayout broadcasts the signed transaction. A retry first asks the wallet for the
// transaction by its hash: if the wallet already knows it, it was submitted, and submitting
// again would only be refused as a double spend.
func (w *Wallet) SubmitPayout(ctx context.Context, in SubmitInput) (TxStatusResult, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return TxStatusResult{}, err
	}
	var out TxStatusResult
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		if known, conf, err := w.txStatus(ctx, in.TxHash); err != nil || known {
			out.Known, out.Confirmations = known, conf
			return err
		}
		r, subErr := w.rpc.SubmitMultisig(ctx, walletrpc.SubmitMultisigRequest{TxDataHex: in.SignedTx})
		if subErr == nil && (len(r.TxHashList) != 1 || r.TxHashList[0] != in.TxHash) {
			return nonRetryable(ErrTypeProtocol, fmt.Errorf("submit_multisig sent %v, expected %s", r.TxHashList, in.TxHash))
		}
		known, conf, err := w.txStatus(ctx, in.TxHash)
		out.Known, out.Confirmations = known, conf
		if subErr != nil && !known {
			return subErr
		}
		return err
	})
	if err != nil {
		return TxStatusResult{}, classifyPayout(fmt.Errorf("submit payout on %s: %w", name, err))
	}
	return out, nil
}

// PayoutStatus refreshes and reports how deep the payout is.
func (w *Wallet) PayoutStatus(ctx context.Context, in TxStatusInput) (TxStatusResult, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return TxStatusResult{}, err
	}
	var out TxStatusResult
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		if _, err := w.rpc.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
			return err
		}
		out.Known, out.Confirmations, err = w.txStatus(ctx, in.TxHash)
		return err
	})
	if err != nil {
		return TxStatusResult{}, classify(fmt.Errorf("payout status on %s: %w", name, err))
	}
	return out, nil
}

func (w *Wallet) txStatus(ctx context.Context, txHash string) (known bool, confirmations uint64, err error) {
	r, err := w.rpc.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: txHash})
	if walletrpc.IsUnknownTx(err) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	return true, r.Transfer.Confirmations, nil
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

// classifyPayout marks the errors that a fresh export/import fixes as ErrTypeStale, and
// locked funds as retryable (they unlock with the next blocks).
func classifyPayout(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	if walletrpc.IsNoUnlockedBalance(err) {
		return nonRetryable(ErrTypeStale, err) // not imported yet, or still locked: sync again later
	}
	if code, ok := walletrpc.Code(err); ok {
		switch code {
		case walletrpc.CodeTxNotPossible, walletrpc.CodeMultisigSignature, walletrpc.CodeBadMultisigTxData:
			return nonRetryable(ErrTypeStale, err)
		case walletrpc.CodeNotEnoughUnlockedMoney:
			return err
		}
	}
	return classify(err)
}
