package activities

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

const payee = "48payeeAddressOfTheDecision"

// signInput is what the workflow would ask of the co-signer: 1000 held, fees up to 50.
func signInput() SignPayoutInput {
	return SignPayoutInput{EscrowID: testEscrowID, Role: escrow.Vendor, Txset: "txset", Address: payee, FundedAtomic: 1000, MaxFeeAtomic: 50}
}

// sweepTx is one transaction of a sweep paying amount to address.
func sweepTx(address string, amount, fee uint64) walletrpc.TransferDescription {
	return walletrpc.TransferDescription{
		AmountIn: amount + fee, AmountOut: amount, Fee: fee,
		Recipients: []walletrpc.Recipient{{Address: address, Amount: amount}},
	}
}

// signWith runs SignPayout on a fake whose describe_transfer shows txs.
func signWith(t *testing.T, in SignPayoutInput, txs ...walletrpc.TransferDescription) (*testWallet, SignPayoutResult, error) {
	t.Helper()
	tw := newTestWallet(t)
	tw.fake.answer(walletrpc.MethodDescribeTransfer, walletrpc.DescribeTransferResult{Desc: txs})
	hashes := make([]string, len(txs))
	for i := range hashes {
		hashes[i] = string(rune('a'+i)) + "hash"
	}
	tw.fake.answer(walletrpc.MethodSignMultisig, walletrpc.SignMultisigResult{TxDataHex: "signed", TxHashList: hashes})
	var out SignPayoutResult
	err := tw.exec(tw.w.SignPayout, in, &out)
	return tw, out, err
}

// requireRefused checks a refusal: non-retryable PayoutRejected naming the fault, and no
// signature made.
func requireRefused(t *testing.T, tw *testWallet, err error, why string) {
	t.Helper()
	appErr := appError(t, err)
	assert.Equal(t, escrow.ErrTypePayoutRejected, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	assert.Contains(t, err.Error(), why)
	assert.NotContains(t, tw.fake.called(), walletrpc.MethodSignMultisig, "a refused payout must never be signed")
	assert.Contains(t, tw.fake.called(), walletrpc.MethodDescribeTransfer)
}

func TestCoSignerRefusesTwoRecipients(t *testing.T) {
	tx := sweepTx(payee, 500, 30)
	tx.Recipients = append(tx.Recipients, walletrpc.Recipient{Address: "48thief", Amount: 470})
	tw, _, err := signWith(t, signInput(), tx)
	requireRefused(t, tw, err, "2 recipients")
}

func TestCoSignerRefusesAnotherAddress(t *testing.T) {
	tw, _, err := signWith(t, signInput(), sweepTx("48thiefAddressNotTheDecision", 970, 30))
	requireRefused(t, tw, err, "not the decided address")

	// One honest transaction does not excuse another one.
	tw, _, err = signWith(t, signInput(), sweepTx(payee, 500, 15), sweepTx("48thiefAddressNotTheDecision", 470, 15))
	requireRefused(t, tw, err, "transaction 1 pays")
}

func TestCoSignerRefusesAFeeAboveTheCap(t *testing.T) {
	tw, _, err := signWith(t, signInput(), sweepTx(payee, 940, 60))
	requireRefused(t, tw, err, "fees 60 exceed the sane maximum 50")

	// The cap bounds the sum: two fees each under it are refused together.
	tw, _, err = signWith(t, signInput(), sweepTx(payee, 470, 30), sweepTx(payee, 470, 30))
	requireRefused(t, tw, err, "fees 60 exceed the sane maximum 50")
}

func TestCoSignerRefusesChange(t *testing.T) {
	tx := sweepTx(payee, 970, 30)
	tx.ChangeAmount, tx.ChangeAddress = 5, "48escrow"
	tw, _, err := signWith(t, signInput(), tx)
	requireRefused(t, tw, err, "keeps 5 as change")
}

func TestCoSignerRefusesAnAmountOffByOnePiconero(t *testing.T) {
	for _, amount := range []uint64{969, 971} {
		tw, _, err := signWith(t, signInput(), sweepTx(payee, amount, 30))
		requireRefused(t, tw, err, "but the escrow holds 1000")
	}
	tw, _, err := signWith(t, signInput(), sweepTx(payee, 500, 10), sweepTx(payee, 469, 20))
	requireRefused(t, tw, err, "pays 969 + fees 30")
}

func TestCoSignerRefusesAnEmptySet(t *testing.T) {
	tw, _, err := signWith(t, signInput())
	requireRefused(t, tw, err, "no transactions")
}

func TestCoSignerSignsAMultiTransactionSweepToOneAddress(t *testing.T) {
	tw, out, err := signWith(t, signInput(), sweepTx(payee, 300, 10), sweepTx(payee, 300, 10), sweepTx(payee, 360, 20))
	require.NoError(t, err)
	assert.Equal(t, []string{"ahash", "bhash", "chash"}, out.TxHashes)
	assert.Equal(t, "ahash", out.TxHash)
	assert.Equal(t, uint64(960), out.AmountAtomic)
	assert.Equal(t, uint64(40), out.FeeAtomic)
	assert.Equal(t, "signed", out.SignedTx)
	assert.True(t, tw.fake.calledAfter(walletrpc.MethodSignMultisig, walletrpc.MethodStore),
		"the wallet must be stored after signing: %v", tw.fake.called())
}

func TestCoSignerRejectsTooFewHashesFromSign(t *testing.T) {
	tw := newTestWallet(t)
	tw.fake.answer(walletrpc.MethodDescribeTransfer, walletrpc.DescribeTransferResult{Desc: []walletrpc.TransferDescription{sweepTx(payee, 485, 15), sweepTx(payee, 485, 15)}})
	tw.fake.answer(walletrpc.MethodSignMultisig, walletrpc.SignMultisigResult{TxDataHex: "signed", TxHashList: []string{"only"}})
	err := tw.exec(tw.w.SignPayout, signInput(), &SignPayoutResult{})
	assert.Equal(t, escrow.ErrTypeProtocol, appError(t, err).Type())
}

func TestALostSignReplyIsStaleNotRetried(t *testing.T) {
	tw := newTestWallet(t)
	tw.fake.answer(walletrpc.MethodDescribeTransfer, walletrpc.DescribeTransferResult{Desc: []walletrpc.TransferDescription{sweepTx(payee, 970, 30)}})
	tw.fake.fail(walletrpc.MethodSignMultisig, walletrpc.CodeMultisigSignature, "This signature was made with stale data")
	err := tw.exec(tw.w.SignPayout, signInput(), &SignPayoutResult{})
	appErr := appError(t, err)
	assert.Equal(t, escrow.ErrTypeStale, appErr.Type())
	assert.True(t, appErr.NonRetryable(), "signing again with the same infos must not be retried")
}

func TestCreatePayoutStoresTheWalletAfterTheSweep(t *testing.T) {
	tw := newTestWallet(t)
	tw.fake.answer(walletrpc.MethodSweepAll, walletrpc.SweepAllResult{MultisigTxset: "txset", TxHashList: []string{"h1", "h2"}})
	var out CreatePayoutResult
	require.NoError(t, tw.exec(tw.w.CreatePayout, PayoutInput{EscrowID: testEscrowID, Role: escrow.Arbiter, Address: payee}, &out))
	assert.Equal(t, "txset", out.Txset)
	assert.Equal(t, 2, out.TxCount)
	assert.True(t, tw.fake.calledAfter(walletrpc.MethodSweepAll, walletrpc.MethodStore),
		"the wallet must be stored after the sweep: %v", tw.fake.called())

	// A multisig sweep lists no hashes yet; its fee list still counts the transactions.
	tw = newTestWallet(t)
	tw.fake.answer(walletrpc.MethodSweepAll, walletrpc.SweepAllResult{MultisigTxset: "txset", FeeList: []uint64{1, 2, 3}})
	require.NoError(t, tw.exec(tw.w.CreatePayout, PayoutInput{EscrowID: testEscrowID, Role: escrow.Arbiter, Address: payee}, &out))
	assert.Equal(t, 3, out.TxCount)
}

func TestCreatePayoutThatFailsDoesNotStore(t *testing.T) {
	tw := newTestWallet(t)
	tw.fake.fail(walletrpc.MethodSweepAll, walletrpc.CodeGenericTransferError, "No unlocked balance in the specified account")
	err := tw.exec(tw.w.CreatePayout, PayoutInput{EscrowID: testEscrowID, Role: escrow.Arbiter, Address: payee}, &CreatePayoutResult{})
	assert.Equal(t, escrow.ErrTypeStale, appError(t, err).Type())
	assert.NotContains(t, tw.fake.called(), walletrpc.MethodStore)
}
