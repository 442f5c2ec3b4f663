package activities

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// knowTransfers scripts get_transfer_by_txid: hashes in known answer with their transfer,
// the rest with wallet-rpc's "Transaction not found.".
func knowTransfers(f *fakeRPC, known map[string]walletrpc.Transfer) {
	f.handle(walletrpc.MethodGetTransferByTxID, func(params json.RawMessage) (any, error) {
		var req walletrpc.GetTransferByTxIDRequest
		if err := json.Unmarshal(params, &req); err != nil {
			return nil, err
		}
		t, ok := known[req.TxID]
		if !ok {
			return nil, &walletrpc.RPCError{Code: walletrpc.CodeWrongTxID, Message: "Transaction not found."}
		}
		t.TxID = req.TxID
		return walletrpc.GetTransferByTxIDResult{Transfer: t, Transfers: []walletrpc.Transfer{t}}, nil
	})
}

func submitInput() SubmitInput {
	return SubmitInput{EscrowID: testEscrowID, Role: escrow.Vendor, SignedTx: "signed", TxHash: "h1", TxHashes: []string{"h1", "h2"}}
}

func TestSubmitDuringADaemonOutageIsRetryable(t *testing.T) {
	for name, script := range map[string]func(f *fakeRPC){
		"-36 rejected by daemon": func(f *fakeRPC) {
			f.fail(walletrpc.MethodSubmitMultisig, walletrpc.CodeMultisigSubmission, "Failed to submit multisig tx: transaction was rejected by daemon")
		},
		"-38 no daemon connection": func(f *fakeRPC) {
			f.fail(walletrpc.MethodSubmitMultisig, walletrpc.CodeNoDaemonConnection, "No connection to daemon")
		},
		"transport": func(f *fakeRPC) {
			f.handle(walletrpc.MethodSubmitMultisig, func(json.RawMessage) (any, error) { return nil, httpStatus(http.StatusBadGateway) })
		},
	} {
		t.Run(name, func(t *testing.T) {
			tw := newTestWallet(t)
			knowTransfers(tw.fake, nil)
			script(tw.fake)
			err := tw.exec(tw.w.SubmitPayout, submitInput(), &TxStatusResult{})
			requireRetryable(t, err)
			assert.Contains(t, tw.fake.called(), walletrpc.MethodSubmitMultisig)
		})
	}
}

func TestSubmitRecognisesASetItAlreadySent(t *testing.T) {
	tw := newTestWallet(t)
	knowTransfers(tw.fake, map[string]walletrpc.Transfer{
		"h1": {Type: walletrpc.TransferTypeOut, Confirmations: 3},
		"h2": {Type: walletrpc.TransferTypePending},
	})
	var out TxStatusResult
	require.NoError(t, tw.exec(tw.w.SubmitPayout, submitInput(), &out))
	assert.Equal(t, TxStatusResult{Known: true, Pending: true, Opens: 1}, out)
	assert.NotContains(t, tw.fake.called(), walletrpc.MethodSubmitMultisig, "a known set is not submitted again")
}

func TestSubmitSendsAPartlyKnownSetAndChecksTheHashes(t *testing.T) {
	tw := newTestWallet(t)
	known := map[string]walletrpc.Transfer{"h1": {Type: walletrpc.TransferTypePending}}
	knowTransfers(tw.fake, known)
	tw.fake.handle(walletrpc.MethodSubmitMultisig, func(json.RawMessage) (any, error) {
		known["h2"] = walletrpc.Transfer{Type: walletrpc.TransferTypePending}
		return walletrpc.SubmitMultisigResult{TxHashList: []string{"h2", "h1"}}, nil
	})
	var out TxStatusResult
	require.NoError(t, tw.exec(tw.w.SubmitPayout, submitInput(), &out))
	assert.True(t, out.Known)

	tw = newTestWallet(t)
	knowTransfers(tw.fake, nil)
	tw.fake.answer(walletrpc.MethodSubmitMultisig, walletrpc.SubmitMultisigResult{TxHashList: []string{"h1", "other"}})
	err := tw.exec(tw.w.SubmitPayout, submitInput(), &out)
	assert.Equal(t, escrow.ErrTypeProtocol, appError(t, err).Type())
}

func TestSubmitOfAnOldHistoryUsesTxHash(t *testing.T) {
	tw := newTestWallet(t)
	knowTransfers(tw.fake, map[string]walletrpc.Transfer{"h1": {Type: walletrpc.TransferTypeOut, Confirmations: 1}})
	in := submitInput()
	in.TxHashes = nil
	var out TxStatusResult
	require.NoError(t, tw.exec(tw.w.SubmitPayout, in, &out))
	assert.True(t, out.Known)
	assert.Equal(t, uint64(1), out.Confirmations)
}

func TestPayoutStatusReportsTheWholeSet(t *testing.T) {
	status := func(t *testing.T, known map[string]walletrpc.Transfer) TxStatusResult {
		t.Helper()
		tw := newTestWallet(t)
		knowTransfers(tw.fake, known)
		var out TxStatusResult
		require.NoError(t, tw.exec(tw.w.PayoutStatus, TxStatusInput{EscrowID: testEscrowID, Role: escrow.Vendor, TxHash: "h1", TxHashes: []string{"h1", "h2"}}, &out))
		assert.Contains(t, tw.fake.called(), walletrpc.MethodRefresh)
		return out
	}
	out := status(t, map[string]walletrpc.Transfer{"h1": {Type: "out", Confirmations: 7}, "h2": {Type: "out", Confirmations: 4}})
	assert.Equal(t, TxStatusResult{Known: true, Confirmations: 4, Opens: 1}, out, "a set is as deep as its shallowest tx")

	out = status(t, map[string]walletrpc.Transfer{"h1": {Type: "out", Confirmations: 7}})
	assert.False(t, out.Known)
	assert.Zero(t, out.Confirmations)

	out = status(t, map[string]walletrpc.Transfer{"h1": {Type: "out", Confirmations: 7}, "h2": {Type: walletrpc.TransferTypeFailed}})
	assert.True(t, out.Failed, "a dropped tx must be rebuilt")

	out = status(t, map[string]walletrpc.Transfer{"h1": {Type: walletrpc.TransferTypePending, DoubleSpendSeen: true}, "h2": {Type: "out", Confirmations: 1}})
	assert.True(t, out.Failed, "a double spent tx must be rebuilt")
	assert.True(t, out.Pending)
}
