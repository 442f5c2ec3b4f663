package walletrpc

import "context"

// Method names of the calls that watch a wallet's money.
const (
	MethodRefresh           = "refresh"              // MethodRefresh scans new blocks now.
	MethodGetBalance        = "get_balance"          // MethodGetBalance reads the balance.
	MethodGetTransfers      = "get_transfers"        // MethodGetTransfers lists transfers.
	MethodGetTransferByTxID = "get_transfer_by_txid" // MethodGetTransferByTxID finds one transfer.
	methodValidateAddress   = "validate_address"     // methodValidateAddress checks an address.
	MethodGetHeight         = "get_height"           // MethodGetHeight is the wallet's scanned height.
)

// Transfer types as get_transfers and get_transfer_by_txid spell them in Transfer.Type.
const (
	TransferTypeIn      = "in"      // TransferTypeIn is a confirmed incoming transfer.
	TransferTypeOut     = "out"     // TransferTypeOut is a confirmed outgoing transfer.
	TransferTypePending = "pending" // TransferTypePending is our outgoing tx not yet mined.
	TransferTypeFailed  = "failed"  // TransferTypeFailed is our outgoing tx the daemon dropped.
	TransferTypePool    = "pool"    // TransferTypePool is an incoming tx still in the mempool.
	transferTypeBlock   = "block"   // transferTypeBlock is a coinbase reward (mining).
)

// RefreshRequest optionally rescans from StartHeight; zero continues from the wallet's height.
type RefreshRequest struct {
	StartHeight uint64 `json:"start_height,omitempty"`
}

// RefreshResult says whether the scan found anything, so callers can skip work when not.
type RefreshResult struct {
	BlocksFetched uint64 `json:"blocks_fetched"`
	ReceivedMoney bool   `json:"received_money"`
}

// GetBalanceRequest selects the account (and optionally subaddresses) to total.
type GetBalanceRequest struct {
	AccountIndex   uint32   `json:"account_index"`
	AddressIndices []uint32 `json:"address_indices,omitempty"`
	AllAccounts    bool     `json:"all_accounts,omitempty"`
	Strict         bool     `json:"strict,omitempty"` // count only confirmed spends of pool txs
}

// SubaddressBalance is one entry of GetBalanceResult.PerSubaddress.
type SubaddressBalance struct {
	AccountIndex      uint32 `json:"account_index"`
	AddressIndex      uint32 `json:"address_index"`
	Address           string `json:"address"`
	Label             string `json:"label"`
	Balance           uint64 `json:"balance"`
	UnlockedBalance   uint64 `json:"unlocked_balance"`
	NumUnspentOutputs uint64 `json:"num_unspent_outputs"`
	BlocksToUnlock    uint64 `json:"blocks_to_unlock"`
	TimeToUnlock      uint64 `json:"time_to_unlock"`
}

// GetBalanceResult is in piconero (1 XMR = 1e12). A multisig wallet counts new funds in
// Balance at once and in UnlockedBalance 10 blocks later, but can spend them only after
// an export/import round, which MultisigImportNeeded signals.
type GetBalanceResult struct {
	Balance              uint64              `json:"balance"`
	UnlockedBalance      uint64              `json:"unlocked_balance"`
	MultisigImportNeeded bool                `json:"multisig_import_needed"`
	BlocksToUnlock       uint64              `json:"blocks_to_unlock"` // until all of Balance unlocks
	TimeToUnlock         uint64              `json:"time_to_unlock"`
	PerSubaddress        []SubaddressBalance `json:"per_subaddress"`
}

// GetTransfersRequest selects which kinds of transfers to list; all false lists nothing.
type GetTransfersRequest struct {
	In      bool `json:"in"`
	Out     bool `json:"out"`
	Pending bool `json:"pending"`
	Failed  bool `json:"failed"`
	Pool    bool `json:"pool"`
	// FilterByHeight keeps transfers with MinHeight < height <= MaxHeight (the lower bound
	// is exclusive in wallet2); MaxHeight 0 is sent as absent, meaning no upper bound.
	FilterByHeight bool     `json:"filter_by_height,omitempty"`
	MinHeight      uint64   `json:"min_height,omitempty"`
	MaxHeight      uint64   `json:"max_height,omitempty"`
	AccountIndex   uint32   `json:"account_index"`
	SubaddrIndices []uint32 `json:"subaddr_indices,omitempty"`
	AllAccounts    bool     `json:"all_accounts,omitempty"`
}

// SubaddressIndex names a subaddress as (account, index).
type SubaddressIndex struct {
	Major uint32 `json:"major"` // account
	Minor uint32 `json:"minor"` // subaddress within the account
}

// Destination is one payee of an outgoing transfer (also transfer's request shape).
type Destination struct {
	Amount  uint64 `json:"amount"`
	Address string `json:"address"`
}

// Transfer is one entry of get_transfers / get_transfer_by_txid. Height is 0 and
// Confirmations absent (0) while the tx is pending or in the pool.
type Transfer struct {
	TxID                            string            `json:"txid"`
	Address                         string            `json:"address"` // our (sub)address involved
	Amount                          uint64            `json:"amount"`  // out: sum sent to others, fee excluded
	Amounts                         []uint64          `json:"amounts,omitempty"`
	Fee                             uint64            `json:"fee"`
	Height                          uint64            `json:"height"`
	Confirmations                   uint64            `json:"confirmations"`
	SuggestedConfirmationsThreshold uint64            `json:"suggested_confirmations_threshold"`
	UnlockTime                      uint64            `json:"unlock_time"`
	Timestamp                       uint64            `json:"timestamp"`
	Type                            string            `json:"type"` // one of the TransferType* constants
	Locked                          bool              `json:"locked"`
	DoubleSpendSeen                 bool              `json:"double_spend_seen"`
	Destinations                    []Destination     `json:"destinations,omitempty"` // out/pending only
	SubaddrIndex                    SubaddressIndex   `json:"subaddr_index"`
	SubaddrIndices                  []SubaddressIndex `json:"subaddr_indices,omitempty"`
	PaymentID                       string            `json:"payment_id"`
	Note                            string            `json:"note"`
}

// GetTransfersResult lists the requested kinds; absent kinds decode as nil.
type GetTransfersResult struct {
	In      []Transfer `json:"in"`
	Out     []Transfer `json:"out"`
	Pending []Transfer `json:"pending"`
	Failed  []Transfer `json:"failed"`
	Pool    []Transfer `json:"pool"`
}

// GetTransferByTxIDRequest names one transaction; an unknown one is an error (IsUnknownTx).
type GetTransferByTxIDRequest struct {
	TxID         string `json:"txid"`
	AccountIndex uint32 `json:"account_index,omitempty"`
}

// GetTransferByTxIDResult holds the first entry for the txid and all of them (a tx
// can be both incoming and outgoing for one wallet, e.g. change).
type GetTransferByTxIDResult struct {
	Transfer  Transfer   `json:"transfer"`
	Transfers []Transfer `json:"transfers"`
}

// ValidateAddressRequest asks whether Address is valid on the wallet's network
// (a regtest wallet is mainnet) or, with AnyNetType, on any network.
type ValidateAddressRequest struct {
	Address        string `json:"address"`
	AnyNetType     bool   `json:"any_net_type,omitempty"`
	AllowOpenalias bool   `json:"allow_openalias,omitempty"`
}

// ValidateAddressResult: Nettype is "mainnet", "testnet" or "stagenet" ("" when invalid).
type ValidateAddressResult struct {
	Valid            bool   `json:"valid"`
	Integrated       bool   `json:"integrated"`
	Subaddress       bool   `json:"subaddress"`
	Nettype          string `json:"nettype"`
	OpenaliasAddress string `json:"openalias_address"`
}

// GetHeightResult is the wallet's scanned height (the daemon's chain height once synced).
type GetHeightResult struct {
	Height uint64 `json:"height"`
}

// Refresh scans the blocks the wallet has not seen, so balances are current before a
// decision; wallet-rpc also does this on its own every ~20 s.
func (c *Client) Refresh(ctx context.Context, req RefreshRequest) (RefreshResult, error) {
	return call[RefreshResult](ctx, c, MethodRefresh, req)
}

// GetBalance totals the account; see GetBalanceResult for what multisig wallets report.
func (c *Client) GetBalance(ctx context.Context, req GetBalanceRequest) (GetBalanceResult, error) {
	return call[GetBalanceResult](ctx, c, MethodGetBalance, req)
}

// GetTransfers lists the wallet's transfers of the requested kinds.
func (c *Client) GetTransfers(ctx context.Context, req GetTransfersRequest) (GetTransfersResult, error) {
	return call[GetTransfersResult](ctx, c, MethodGetTransfers, req)
}

// GetTransferByTxID finds the wallet's record of one transaction, which is how a retried
// payout recognises its own transaction; unknown hashes fail with IsUnknownTx.
func (c *Client) GetTransferByTxID(ctx context.Context, req GetTransferByTxIDRequest) (GetTransferByTxIDResult, error) {
	return call[GetTransferByTxIDResult](ctx, c, MethodGetTransferByTxID, req)
}

// ValidateAddress checks a payout address before any money moves; it needs an open
// wallet (the wallet's network decides what "valid" means).
func (c *Client) ValidateAddress(ctx context.Context, req ValidateAddressRequest) (ValidateAddressResult, error) {
	return call[ValidateAddressResult](ctx, c, methodValidateAddress, req)
}

// GetHeight returns the wallet's scanned height.
func (c *Client) GetHeight(ctx context.Context) (GetHeightResult, error) {
	return call[GetHeightResult](ctx, c, MethodGetHeight, nil)
}
