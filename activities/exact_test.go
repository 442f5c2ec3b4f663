package activities

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

const (
	vendorTo      = "48vendorPayoutAddress"
	buyerTo       = "44buyerRefundAddress"
	marketplaceTo = "47marketplaceAddress"
)

// splitInput asks the co-signer to sign a 70/30 split of 1000 with a 2 % commission.
func splitInput() SignPayoutInput {
	in := signInput()
	in.Division = &escrow.Division{VendorAtomic: 700, Commission: &escrow.Commission{BasisPoints: 200, Address: marketplaceTo},
		VendorAddress: vendorTo, BuyerAddress: buyerTo}
	return in
}

// splitTx is one transaction paying the given recipients, spending 1000 with the fee.
func splitTx(fee uint64, recipients ...walletrpc.Recipient) walletrpc.TransferDescription {
	tx := walletrpc.TransferDescription{AmountIn: 1000, Fee: fee, Recipients: recipients}
	for _, r := range recipients {
		tx.AmountOut += r.Amount
	}
	return tx
}

func honestSplit(fee uint64) []walletrpc.Recipient {
	return []walletrpc.Recipient{{Address: vendorTo, Amount: 700 - 14 - fee}, {Address: marketplaceTo, Amount: 14}, {Address: buyerTo, Amount: 300}}
}

func TestCoSignerSignsAnExactSplit(t *testing.T) {
	tw, out, err := signWith(t, splitInput(), splitTx(20, honestSplit(20)...))
	require.NoError(t, err)
	assert.Contains(t, tw.fake.called(), walletrpc.MethodSignMultisig)
	assert.Equal(t, []escrow.Share{
		{Party: escrow.PartyVendor, Address: vendorTo, AmountAtomic: 666},
		{Party: escrow.PartyMarketplace, Address: marketplaceTo, AmountAtomic: 14},
		{Party: escrow.PartyBuyer, Address: buyerTo, AmountAtomic: 300},
	}, out.Shares)
	assert.Equal(t, uint64(980), out.AmountAtomic)
}

// A builder who shifts one piconero from the buyer to the vendor is refused: every share is
// checked, not only the total.
func TestCoSignerRefusesAShareOnePiconeroOff(t *testing.T) {
	r := honestSplit(20)
	r[0].Amount++
	r[2].Amount--
	tw, _, err := signWith(t, splitInput(), splitTx(20, r...))
	requireRefused(t, tw, err, "but its share is")
}

// The vendor's fee must come out of the vendor's share, not the buyer's.
func TestCoSignerRefusesAFeeTakenFromTheBuyer(t *testing.T) {
	r := honestSplit(0)
	r[2].Amount -= 20
	tw, _, err := signWith(t, splitInput(), splitTx(20, r...))
	requireRefused(t, tw, err, "but its share is")
}

func TestCoSignerRefusesADroppedCommissionOrAnExtraRecipient(t *testing.T) {
	r := honestSplit(20)
	r[0].Amount += r[1].Amount
	tw, _, err := signWith(t, splitInput(), splitTx(20, r[0], r[2]))
	requireRefused(t, tw, err, "but its share is")

	r = honestSplit(20)
	r[2].Amount -= 100
	tw, _, err = signWith(t, splitInput(), splitTx(20, append(r, walletrpc.Recipient{Address: "48thief", Amount: 100})...))
	requireRefused(t, tw, err, "which the decision does not name")
}

// Money the builder leaves out of the set stays in the escrow, but the co-signer still holds
// the set to the spendable money the workflow divided.
func TestCoSignerRefusesASetThatSpendsLessThanWasDivided(t *testing.T) {
	tx := splitTx(20, honestSplit(20)...)
	tx.AmountIn = 900
	tw, _, err := signWith(t, splitInput(), tx)
	requireRefused(t, tw, err, "spends 900, but the escrow's spendable money is 1000")
}

func TestCoSignerRefusesChangeUnderExactShares(t *testing.T) {
	tx := splitTx(20, honestSplit(20)...)
	tx.ChangeAmount = 1
	tw, _, err := signWith(t, splitInput(), tx)
	requireRefused(t, tw, err, "keeps 1 as change")
}

// A rogue workflow that schedules SignPayout on an escrow's wallet-rpc queue is refused by
// the caller check before anything touches the wallet: the server names the scheduler.
func TestARogueWorkflowCallingSignPayoutIsRefused(t *testing.T) {
	info := func(workflowID, typ string) activity.Info {
		return activity.Info{
			ActivityType:      activity.Type{Name: "SignPayout"},
			WorkflowExecution: workflow.Execution{ID: workflowID},
			WorkflowType:      &workflow.Type{Name: typ},
		}
	}
	in := splitInput()
	require.NoError(t, checkCaller(info(escrow.WorkflowID(testEscrowID), escrow.WorkflowType), []any{in}))
	for name, i := range map[string]activity.Info{
		"a rogue workflow type":                info("rogue-1", "Rogue"),
		"an escrow workflow of another escrow": info(escrow.WorkflowID("other"), escrow.WorkflowType),
		"a rogue type under the escrow's ID":   info(escrow.WorkflowID(testEscrowID), "Rogue"),
	} {
		err := checkCaller(i, []any{in})
		require.Error(t, err, name)
		assert.Equal(t, escrow.ErrTypeForeignCaller, appError(t, err).Type(), name)
		assert.True(t, appError(t, err).NonRetryable(), name)
	}
	err := checkCaller(info(escrow.WorkflowID(testEscrowID), escrow.WorkflowType), []any{struct{ Role string }{"buyer"}})
	assert.Error(t, err, "an input that names no escrow is refused")
}

// A signature is held to the payout the escrow's workflow recorded.
func TestCoSignerRefusesAPayoutItsEscrowDidNotDecide(t *testing.T) {
	in := splitInput()
	decided := &escrow.Payout{Kind: escrow.PayoutSplit, Division: in.Division}
	other := *in.Division
	other.VendorAddress = "48thief"
	assert.True(t, decidedAs(decided, in))
	in.Division = &other
	assert.False(t, decidedAs(decided, in))
	legacy := &escrow.Payout{Kind: escrow.PayoutRelease, Address: payee}
	assert.True(t, decidedAs(legacy, signInput()))
	assert.False(t, decidedAs(legacy, splitInput()), "an exact-shares signature is not a legacy decision")
}

// outputs scripts incoming_transfers and records freeze/thaw calls.
func (f *fakeRPC) outputs(outs ...walletrpc.Output) *[]string {
	var held []string
	f.answer(walletrpc.MethodIncomingTransfers, walletrpc.IncomingTransfersResult{Transfers: outs})
	for _, m := range []string{walletrpc.MethodFreeze, walletrpc.MethodThaw} {
		f.handle(m, func(p json.RawMessage) (any, error) {
			var r walletrpc.KeyImageRequest
			_ = json.Unmarshal(p, &r)
			held = append(held, m+":"+r.KeyImage)
			return struct{}{}, nil
		})
	}
	return &held
}

// The build freezes dust so the wallet spends exactly the divided outputs, pays several
// destinations with the fee subtracted from the vendor's, and thaws everything after.
func TestABuildFreezesDustAndSubtractsTheFeeFromTheVendor(t *testing.T) {
	tw := newTestWallet(t)
	held := tw.fake.outputs(
		walletrpc.Output{Amount: 900, KeyImage: "big", Unlocked: true},
		walletrpc.Output{Amount: 100, KeyImage: "small", Unlocked: true},
		walletrpc.Output{Amount: 3, KeyImage: "dust", Unlocked: true},
		walletrpc.Output{Amount: 50, KeyImage: "locked", Unlocked: false},
	)
	tw.fake.answer(walletrpc.MethodTransfer, walletrpc.TransferResult{MultisigTxset: "txset"})
	in := PayoutInput{EscrowID: testEscrowID, Role: escrow.Buyer, SpendableAtomic: 1000, DustBelowAtomic: 10,
		Destinations: []escrow.Share{{Address: vendorTo, AmountAtomic: 700}, {Address: buyerTo, AmountAtomic: 300}}}
	var out CreatePayoutResult
	require.NoError(t, tw.exec(tw.w.CreatePayout, in, &out))
	assert.Equal(t, "txset", out.Txset)
	assert.Equal(t, []string{"freeze:dust"}, *held, "dust frozen; the all-thawed pass saw none frozen")
	var req walletrpc.TransferRequest
	sent := tw.fake.paramsOf(walletrpc.MethodTransfer)
	require.Len(t, sent, 1)
	require.NoError(t, json.Unmarshal(sent[0], &req))
	assert.Equal(t, []uint32{0}, req.SubtractFeeFromOutputs)
	assert.Equal(t, []walletrpc.Destination{{Address: vendorTo, Amount: 700}, {Address: buyerTo, Amount: 300}}, req.Destinations)
}

// Money that arrived or unlocked since the holdings check makes the build stale: the
// workflow syncs again rather than dividing a sum that is no longer true.
func TestABuildRefusesSpendableMoneyThatMoved(t *testing.T) {
	tw := newTestWallet(t)
	tw.fake.outputs(walletrpc.Output{Amount: 900, KeyImage: "big", Unlocked: true}, walletrpc.Output{Amount: 200, KeyImage: "new", Unlocked: true})
	in := PayoutInput{EscrowID: testEscrowID, Role: escrow.Buyer, SpendableAtomic: 900, DustBelowAtomic: 10,
		Destinations: []escrow.Share{{Address: vendorTo, AmountAtomic: 900}}}
	var out CreatePayoutResult
	err := tw.exec(tw.w.CreatePayout, in, &out)
	assert.Equal(t, escrow.ErrTypeStale, appError(t, err).Type())
	assert.NotContains(t, tw.fake.called(), walletrpc.MethodSweepAll, "nothing built on a stale sum")
}

func TestHoldingsSortOutputsByWhatAPayoutCanDo(t *testing.T) {
	const u = FallbackDustAtomic / 10 // amounts in tenths of the dust threshold
	tw := newTestWallet(t)
	transfers := walletrpc.GetTransfersResult{
		In: []walletrpc.Transfer{
			{TxID: "pay", Height: 90}, {TxID: "young", Height: 99},
			{TxID: "far", Height: 95, UnlockTime: 100_000}, {TxID: "soon", Height: 80, UnlockTime: 105},
		},
		Pool: []walletrpc.Transfer{{TxID: "pool", Amount: 70 * u}},
	}
	tw.fake.outputs(
		walletrpc.Output{TxHash: "pay", Amount: 1000 * u, KeyImage: "k1", Unlocked: true},
		walletrpc.Output{TxHash: "pay", Amount: 5 * u, KeyImage: "k2", Unlocked: true},
		walletrpc.Output{TxHash: "young", Amount: 40 * u},
		walletrpc.Output{TxHash: "far", Amount: 300 * u},
		walletrpc.Output{TxHash: "soon", Amount: 20 * u},
		walletrpc.Output{TxHash: "new", Amount: 60 * u, Unlocked: true},
		walletrpc.Output{TxHash: "gone", Amount: 999 * u, Spent: true},
	)
	h, err := tw.w.holdings(t.Context(), 100, transfers)
	require.NoError(t, err)
	assert.Equal(t, uint64(1000*u), h.SpendableAtomic)
	assert.Equal(t, 1, h.SpendableOutputs)
	assert.Equal(t, uint64(60*u), h.UnsyncedAtomic, "unlocked, key image not yet imported")
	assert.Equal(t, uint64(60*u), h.LockedAtomic, "young and soon-unlocking outputs join soon")
	assert.Equal(t, uint64(70*u), h.PendingAtomic)
	assert.Equal(t, &escrow.Dust{AmountAtomic: 5 * u, Outputs: 1, BelowAtomic: FallbackDustAtomic}, h.Dust)
	assert.Equal(t, []escrow.TimeLockedPayment{{TxID: "far", AmountAtomic: 300 * u, UnlockTime: 100_000}}, h.TimeLocked)
}

// The dust threshold is what one more input costs at normal priority, with a margin: the
// daemon's fee per byte times the wallet's weight of an input.
func TestTheDustThresholdIsTheCostOfAnInputAtNormalPriority(t *testing.T) {
	tw := newTestWallet(t)
	tw.fake.answer(walletrpc.MethodGetFeeEstimate, walletrpc.FeeEstimate{Fee: 20_000, Fees: []uint64{20_000, 80_000, 320_000, 4_000_000}, Status: "OK"})
	tw.fake.handle(walletrpc.MethodEstimateTxSizeAndWeight, func(p json.RawMessage) (any, error) {
		var r walletrpc.EstimateTxSizeAndWeightRequest
		_ = json.Unmarshal(p, &r)
		return walletrpc.EstimateTxSizeAndWeightResult{Weight: 1500 + 700*uint64(r.NInputs)}, nil
	})
	tw.w.daemon = walletrpc.NewDaemon(walletrpc.Config{URL: tw.url})
	got, err := tw.w.dustThreshold(t.Context())
	require.NoError(t, err)
	assert.Equal(t, uint64(80_000*700*5/4), got)

	// The fee moves, and is asked every time; the input's weight is the release's, asked once
	// an hour.
	tw.fake.answer(walletrpc.MethodGetFeeEstimate, walletrpc.FeeEstimate{Fee: 40_000, Fees: []uint64{40_000, 160_000, 640_000, 8_000_000}, Status: "OK"})
	before := len(tw.fake.called())
	got, err = tw.w.dustThreshold(t.Context())
	require.NoError(t, err)
	assert.Equal(t, uint64(160_000*700*5/4), got)
	assert.Equal(t, []string{walletrpc.MethodGetFeeEstimate}, tw.fake.since(before))

	tw.w.weight.at = time.Now().Add(-inputWeightTTL)
	before = len(tw.fake.called())
	_, err = tw.w.dustThreshold(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{walletrpc.MethodGetFeeEstimate, walletrpc.MethodEstimateTxSizeAndWeight, walletrpc.MethodEstimateTxSizeAndWeight}, tw.fake.since(before), "asked again after an hour")
}

// The wallet calls the relayed payout failed (dropped from its pool), but monerod has it in a
// block: the daemon's word wins, and the payout is adopted rather than built and paid again.
func TestTheDaemonOverrulesAWalletThatCallsAMinedPayoutFailed(t *testing.T) {
	tw := newTestWallet(t)
	tw.w.daemon = walletrpc.NewDaemon(walletrpc.Config{URL: tw.url})
	tw.fake.answer(walletrpc.MethodGetTransferByTxID, walletrpc.GetTransferByTxIDResult{
		Transfer: walletrpc.Transfer{TxID: "h1", Type: walletrpc.TransferTypeFailed}})
	tw.fake.handle("/get_transactions", func(json.RawMessage) (any, error) {
		return map[string]any{"status": "OK", "txs": []map[string]any{{"tx_hash": "h1", "in_pool": false, "block_height": 90}}}, nil
	})
	tw.fake.answer(walletrpc.MethodGetInfo, walletrpc.GetInfoResult{Height: 103, Status: "OK"})
	var out TxStatusResult
	require.NoError(t, tw.exec(tw.w.PayoutStatus, TxStatusInput{EscrowID: testEscrowID, Role: escrow.Vendor, TxHashes: []string{"h1"}}, &out))
	assert.True(t, out.Known)
	assert.False(t, out.Failed, "mined, whatever the wallet says")
	assert.Equal(t, uint64(13), out.Confirmations)

	// A set the daemon has never seen keeps the wallet's word: failed, built again.
	tw.fake.handle("/get_transactions", func(json.RawMessage) (any, error) {
		return map[string]any{"status": "OK", "missed_tx": []string{"h1"}}, nil
	})
	require.NoError(t, tw.exec(tw.w.PayoutStatus, TxStatusInput{EscrowID: testEscrowID, Role: escrow.Vendor, TxHashes: []string{"h1"}}, &out))
	assert.True(t, out.Failed)
}
