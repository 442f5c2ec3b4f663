package walletrpc

import (
	"context"
	"fmt"
)

// Method names of the calls that spend, multisig or not.
const (
	methodExportMultisigInfo = "export_multisig_info" // methodExportMultisigInfo yields this signer's nonces/partial key images.
	methodImportMultisigInfo = "import_multisig_info" // methodImportMultisigInfo takes the other signers' exports.
	MethodTransfer           = "transfer"             // MethodTransfer builds (and for plain wallets sends) a tx.
	MethodSweepAll           = "sweep_all"            // MethodSweepAll spends every unlocked output to one address.
	MethodDescribeTransfer   = "describe_transfer"    // MethodDescribeTransfer decodes a txset for review.
	MethodSignMultisig       = "sign_multisig"        // MethodSignMultisig adds this signer's signature.
	MethodSubmitMultisig     = "submit_multisig"      // MethodSubmitMultisig relays a fully signed txset.
)

// ExportMultisigInfoResult is this signer's export (hex of "Monero multisig export..."):
// partial key images and fresh signing nonces; readable by anyone with the view key.
type ExportMultisigInfoResult struct {
	Info string `json:"info"`
}

// String hides the export, which is secret.
func (r ExportMultisigInfoResult) String() string {
	return fmt.Sprintf("{Info:%s}", redactedLen(r.Info))
}

// ImportMultisigInfoRequest carries the other signers' exports (at least threshold-1).
type ImportMultisigInfoRequest struct {
	Info []string `json:"info"`
}

// String hides the exports, which are secret.
func (r ImportMultisigInfoRequest) String() string {
	return fmt.Sprintf("{Info:%d exports %s}", len(r.Info), redacted)
}

// ImportMultisigInfoResult counts the wallet's outputs the imports cover.
type ImportMultisigInfoResult struct {
	NOutputs int `json:"n_outputs"`
}

// TransferRequest pays Destinations from one account. For a multisig wallet nothing is
// sent: the result's MultisigTxset goes to another signer (DescribeTransfer, SignMultisig).
type TransferRequest struct {
	Destinations   []Destination `json:"destinations"`
	AccountIndex   uint32        `json:"account_index"`
	SubaddrIndices []uint32      `json:"subaddr_indices,omitempty"`
	Priority       uint32        `json:"priority"`            // fee multiplier 1-4; 0 lets the wallet choose
	RingSize       uint64        `json:"ring_size,omitempty"` // 0 = the consensus ring size (16)
	UnlockTime     uint64        `json:"unlock_time,omitempty"`
	GetTxKey       bool          `json:"get_tx_key,omitempty"`
	DoNotRelay     bool          `json:"do_not_relay,omitempty"`
	GetTxHex       bool          `json:"get_tx_hex,omitempty"`
	GetTxMetadata  bool          `json:"get_tx_metadata,omitempty"`
	// SubtractFeeFromOutputs names the destinations (by index) that pay the fee, evenly, so
	// the destinations together spend exactly their sum (wallet-rpc v0.18.3.2 and later;
	// the transaction must then fit one tx).
	SubtractFeeFromOutputs []uint32 `json:"subtract_fee_from_outputs,omitempty"`
}

// KeyImageList is the key images one transaction spends.
type KeyImageList struct {
	KeyImages []string `json:"key_images"`
}

// TransferResult: for a plain wallet TxHash is the relayed tx; for a multisig wallet
// TxHash is empty (the hash exists only once a co-signer signs) and MultisigTxset is the
// unsigned set to pass on (TxKey is still filled when GetTxKey is set).
type TransferResult struct {
	TxHash         string       `json:"tx_hash"`
	TxKey          string       `json:"tx_key"`
	Amount         uint64       `json:"amount"`
	Fee            uint64       `json:"fee"`
	Weight         uint64       `json:"weight"`
	TxBlob         string       `json:"tx_blob"`
	TxMetadata     string       `json:"tx_metadata"`
	MultisigTxset  string       `json:"multisig_txset"`
	UnsignedTxset  string       `json:"unsigned_txset"`
	SpentKeyImages KeyImageList `json:"spent_key_images"`
}

// String hides the tx key, blobs and txsets, which are secret.
func (r TransferResult) String() string {
	return fmt.Sprintf("{TxHash:%s TxKey:%s Amount:%d Fee:%d Weight:%d TxBlob:%s TxMetadata:%s MultisigTxset:%s UnsignedTxset:%s SpentKeyImages:%d}",
		r.TxHash, redactedLen(r.TxKey), r.Amount, r.Fee, r.Weight, redactedLen(r.TxBlob), redactedLen(r.TxMetadata),
		redactedLen(r.MultisigTxset), redactedLen(r.UnsignedTxset), len(r.SpentKeyImages.KeyImages))
}

// SweepAllRequest spends every unlocked output of the account (or of SubaddrIndices) to
// Address, so the payee gets the whole balance minus the fee, with no change output.
type SweepAllRequest struct {
	Address           string   `json:"address"`
	AccountIndex      uint32   `json:"account_index"`
	SubaddrIndices    []uint32 `json:"subaddr_indices,omitempty"`
	SubaddrIndicesAll bool     `json:"subaddr_indices_all,omitempty"`
	Priority          uint32   `json:"priority"`               // as in TransferRequest
	RingSize          uint64   `json:"ring_size,omitempty"`    // 0 = consensus ring size
	Outputs           uint64   `json:"outputs,omitempty"`      // 0 = wallet default (1)
	BelowAmount       uint64   `json:"below_amount,omitempty"` // 0 = all outputs
	UnlockTime        uint64   `json:"unlock_time,omitempty"`
	GetTxKeys         bool     `json:"get_tx_keys,omitempty"`
	DoNotRelay        bool     `json:"do_not_relay,omitempty"`
	GetTxHex          bool     `json:"get_tx_hex,omitempty"`
	GetTxMetadata     bool     `json:"get_tx_metadata,omitempty"`
}

// SweepAllResult may describe several transactions (one per list entry). For a multisig
// wallet TxHashList is empty and MultisigTxset holds all of them, unsigned.
type SweepAllResult struct {
	TxHashList         []string       `json:"tx_hash_list"`
	TxKeyList          []string       `json:"tx_key_list"`
	AmountList         []uint64       `json:"amount_list"`
	FeeList            []uint64       `json:"fee_list"`
	WeightList         []uint64       `json:"weight_list"`
	TxBlobList         []string       `json:"tx_blob_list"`
	TxMetadataList     []string       `json:"tx_metadata_list"`
	MultisigTxset      string         `json:"multisig_txset"`
	UnsignedTxset      string         `json:"unsigned_txset"`
	SpentKeyImagesList []KeyImageList `json:"spent_key_images_list"`
}

// String hides the tx keys, blobs and txsets, which are secret.
func (r SweepAllResult) String() string {
	return fmt.Sprintf("{TxHashList:%v TxKeyList:%d keys %s AmountList:%v FeeList:%v WeightList:%v TxBlobList:%d %s TxMetadataList:%d %s MultisigTxset:%s UnsignedTxset:%s SpentKeyImagesList:%d}",
		r.TxHashList, len(r.TxKeyList), redacted, r.AmountList, r.FeeList, r.WeightList, len(r.TxBlobList), redacted,
		len(r.TxMetadataList), redacted, redactedLen(r.MultisigTxset), redactedLen(r.UnsignedTxset), len(r.SpentKeyImagesList))
}

// DescribeTransferRequest names the txset to decode: a multisig txset (unsigned or
// partly signed) or a cold-signing unsigned txset.
type DescribeTransferRequest struct {
	MultisigTxset string `json:"multisig_txset,omitempty"`
	UnsignedTxset string `json:"unsigned_txset,omitempty"`
}

// String hides the txsets, which are secret.
func (r DescribeTransferRequest) String() string {
	return fmt.Sprintf("{MultisigTxset:%s UnsignedTxset:%s}", redactedLen(r.MultisigTxset), redactedLen(r.UnsignedTxset))
}

// Recipient is one payee as describe_transfer decodes it.
type Recipient struct {
	Address string `json:"address"`
	Amount  uint64 `json:"amount"`
}

// TransferDescription is one transaction of a txset. AmountIn = AmountOut + Fee;
// AmountOut includes ChangeAmount, which goes back to the wallet (ChangeAddress, "" for
// a sweep). Recipients exclude the change.
type TransferDescription struct {
	AmountIn      uint64      `json:"amount_in"`
	AmountOut     uint64      `json:"amount_out"`
	Recipients    []Recipient `json:"recipients"`
	ChangeAmount  uint64      `json:"change_amount"`
	ChangeAddress string      `json:"change_address"`
	Fee           uint64      `json:"fee"`
	RingSize      uint32      `json:"ring_size"`
	UnlockTime    uint64      `json:"unlock_time"`
	DummyOutputs  uint32      `json:"dummy_outputs"` // zero-amount outputs padding a 1-output tx to 2
	PaymentID     string      `json:"payment_id"`
	Extra         string      `json:"extra"` // hex tx extra (tx public key, nonces)
	// Sources are the outputs the transaction spends (wallet-rpc v0.18.5.0 and later).
	Sources []Source `json:"sources,omitempty"`
}

// Source is one output a described transaction spends.
type Source struct {
	Amount      uint64 `json:"amount"`
	GlobalIndex uint64 `json:"global_index"`
	PubKey      string `json:"pubkey"`
	RCT         bool   `json:"rct"`
}

// TransferSummary totals all transactions of a txset (v0.18 sends it beside Desc).
type TransferSummary struct {
	AmountIn      uint64      `json:"amount_in"`
	AmountOut     uint64      `json:"amount_out"`
	Recipients    []Recipient `json:"recipients"`
	ChangeAmount  uint64      `json:"change_amount"`
	ChangeAddress string      `json:"change_address"`
	Fee           uint64      `json:"fee"`
}

// DescribeTransferResult is what a co-signer checks before signing: who gets what.
type DescribeTransferResult struct {
	Desc    []TransferDescription `json:"desc"`
	Summary TransferSummary       `json:"summary"`
}

// SignMultisigRequest is the txset to sign: a transfer/sweep MultisigTxset or an earlier
// signer's TxDataHex.
type SignMultisigRequest struct {
	TxDataHex string `json:"tx_data_hex"`
}

// String hides the txset, which is secret.
func (r SignMultisigRequest) String() string {
	return fmt.Sprintf("{TxDataHex:%s}", redactedLen(r.TxDataHex))
}

// SignMultisigResult is the txset with this signature added; TxHashList holds the final
// tx hashes once the threshold is met (2-of-3: after the first co-signer).
type SignMultisigResult struct {
	TxDataHex  string   `json:"tx_data_hex"`
	TxHashList []string `json:"tx_hash_list"`
}

// String hides the txset, which is secret.
func (r SignMultisigResult) String() string {
	return fmt.Sprintf("{TxDataHex:%s TxHashList:%v}", redactedLen(r.TxDataHex), r.TxHashList)
}

// SubmitMultisigRequest is a fully signed txset (SignMultisigResult.TxDataHex).
type SubmitMultisigRequest struct {
	TxDataHex string `json:"tx_data_hex"`
}

// String hides the txset, which is secret.
func (r SubmitMultisigRequest) String() string {
	return fmt.Sprintf("{TxDataHex:%s}", redactedLen(r.TxDataHex))
}

// SubmitMultisigResult lists the relayed transactions' hashes.
type SubmitMultisigResult struct {
	TxHashList []string `json:"tx_hash_list"`
}

// ExportMultisigInfo returns this signer's export; each call renews its nonces, so any
// txset built from an older export can no longer be signed by it.
func (c *Client) ExportMultisigInfo(ctx context.Context) (ExportMultisigInfoResult, error) {
	return call[ExportMultisigInfoResult](ctx, c, methodExportMultisigInfo, nil)
}

// ImportMultisigInfo takes the other signers' exports; needed after funds arrive and after
// every spend before the wallet can build or sign the next transaction.
func (c *Client) ImportMultisigInfo(ctx context.Context, req ImportMultisigInfoRequest) (ImportMultisigInfoResult, error) {
	return call[ImportMultisigInfoResult](ctx, c, methodImportMultisigInfo, req)
}

// Transfer builds a payment; a multisig wallet returns an unsigned MultisigTxset and
// fails with -16 (CodeTxNotPossible) when an import is due, -17 or -37 when funds are short.
func (c *Client) Transfer(ctx context.Context, req TransferRequest) (TransferResult, error) {
	return call[TransferResult](ctx, c, MethodTransfer, req)
}

// SweepAll spends all unlocked funds to one address (payee gets balance minus fee); on a
// multisig wallet it fails with IsNoUnlockedBalance when funds are locked or not imported.
func (c *Client) SweepAll(ctx context.Context, req SweepAllRequest) (SweepAllResult, error) {
	return call[SweepAllResult](ctx, c, MethodSweepAll, req)
}

// DescribeTransfer decodes a txset so a co-signer can check recipients and fee before signing.
func (c *Client) DescribeTransfer(ctx context.Context, req DescribeTransferRequest) (DescribeTransferResult, error) {
	return call[DescribeTransferResult](ctx, c, MethodDescribeTransfer, req)
}

// SignMultisig adds this signer's signature. It works once per export: a retry after a
// lost answer fails with -35 (CodeMultisigSignature), so keep the first result.
func (c *Client) SignMultisig(ctx context.Context, req SignMultisigRequest) (SignMultisigResult, error) {
	return call[SignMultisigResult](ctx, c, MethodSignMultisig, req)
}

// SubmitMultisig relays a fully signed txset. Resubmitting an accepted tx returns the same
// hashes; a conflicting spend fails with -36 (CodeMultisigSubmission).
func (c *Client) SubmitMultisig(ctx context.Context, req SubmitMultisigRequest) (SubmitMultisigResult, error) {
	return call[SubmitMultisigResult](ctx, c, MethodSubmitMultisig, req)
}
