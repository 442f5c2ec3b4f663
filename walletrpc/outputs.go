package walletrpc

import "context"

// Method names of the calls that list and hold a wallet's outputs, and estimate a fee.
const (
	MethodIncomingTransfers              = "incoming_transfers"          // MethodIncomingTransfers lists the wallet's outputs.
	MethodFreeze                         = "freeze"                      // MethodFreeze keeps an output out of every spend.
	MethodThaw                           = "thaw"                        // MethodThaw lets a frozen output be spent again.
	MethodEstimateTxSizeAndWeight        = "estimate_tx_size_and_weight" // MethodEstimateTxSizeAndWeight sizes a tx shape.
	MethodGetFeeEstimate                 = "get_fee_estimate"            // MethodGetFeeEstimate is monerod's fee per byte.
	IncomingAvailable                    = "available"                   // IncomingAvailable selects unspent outputs.
	defaultRingSize               uint32 = 16
)

// IncomingTransfersRequest selects outputs by TransferType (IncomingAvailable: unspent).
type IncomingTransfersRequest struct {
	TransferType string `json:"transfer_type"`
	AccountIndex uint32 `json:"account_index"`
}

// Output is one output the wallet owns. KeyImage is "" until the wallet knows it (a
// multisig wallet learns it from the other signers' export infos).
type Output struct {
	Amount      uint64 `json:"amount"`
	Spent       bool   `json:"spent"`
	GlobalIndex uint64 `json:"global_index"`
	TxHash      string `json:"tx_hash"`
	KeyImage    string `json:"key_image"`
	PubKey      string `json:"pubkey"`
	BlockHeight uint64 `json:"block_height"`
	Frozen      bool   `json:"frozen"`
	Unlocked    bool   `json:"unlocked"`
}

// IncomingTransfersResult lists the selected outputs; none decodes as nil.
type IncomingTransfersResult struct {
	Transfers []Output `json:"transfers"`
}

// KeyImageRequest names one output by its key image (freeze, thaw).
type KeyImageRequest struct {
	KeyImage string `json:"key_image"`
}

// EstimateTxSizeAndWeightRequest describes a transaction's shape.
type EstimateTxSizeAndWeightRequest struct {
	NInputs  uint32 `json:"n_inputs"`
	NOutputs uint32 `json:"n_outputs"`
	RingSize uint32 `json:"ring_size"`
	RCT      bool   `json:"rct"`
}

// EstimateTxSizeAndWeightResult is the wallet's estimate for that shape under the chain's
// current rules (CLSAG, Bulletproofs+, view tags).
type EstimateTxSizeAndWeightResult struct {
	Size   uint64 `json:"size"`
	Weight uint64 `json:"weight"`
}

// FeeEstimate is monerod's fee per byte of weight: Fee for the wallet's default, Fees for
// priorities 1-4 (since the 2021 fee scaling), and the mask fees are rounded up to.
type FeeEstimate struct {
	Fee              uint64   `json:"fee"`
	Fees             []uint64 `json:"fees"`
	QuantizationMask uint64   `json:"quantization_mask"`
	Status           string   `json:"status"`
}

// IncomingTransfers lists the wallet's outputs of one kind.
func (c *Client) IncomingTransfers(ctx context.Context, req IncomingTransfersRequest) (IncomingTransfersResult, error) {
	return call[IncomingTransfersResult](ctx, c, MethodIncomingTransfers, req)
}

// Freeze keeps the output with this key image out of every transfer and sweep until thawed.
func (c *Client) Freeze(ctx context.Context, keyImage string) error {
	_, err := call[struct{}](ctx, c, MethodFreeze, KeyImageRequest{KeyImage: keyImage})
	return err
}

// Thaw lets a frozen output be spent again.
func (c *Client) Thaw(ctx context.Context, keyImage string) error {
	_, err := call[struct{}](ctx, c, MethodThaw, KeyImageRequest{KeyImage: keyImage})
	return err
}

// InputWeight is the weight one more input adds to a two-output transaction with the
// consensus ring size: what wallet2 multiplies by the fee per byte to decide that an output
// is worth less than spending it.
func (c *Client) InputWeight(ctx context.Context) (uint64, error) {
	shape := func(inputs uint32) (uint64, error) {
		r, err := call[EstimateTxSizeAndWeightResult](ctx, c, MethodEstimateTxSizeAndWeight,
			EstimateTxSizeAndWeightRequest{NInputs: inputs, NOutputs: 2, RingSize: defaultRingSize, RCT: true})
		return r.Weight, err
	}
	one, err := shape(1)
	if err != nil {
		return 0, err
	}
	two, err := shape(2)
	if err != nil {
		return 0, err
	}
	if two <= one {
		return 0, &protocolError{Method: MethodEstimateTxSizeAndWeight, Reason: "a second input weighs nothing"}
	}
	return two - one, nil
}

// GetFeeEstimate reads monerod's fee per byte.
func (d *Daemon) GetFeeEstimate(ctx context.Context) (FeeEstimate, error) {
	res, err := call[FeeEstimate](ctx, d, MethodGetFeeEstimate, nil)
	if err == nil {
		err = checkDaemonStatus(MethodGetFeeEstimate, res.Status)
	}
	return res, err
}
