package activities

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

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

// The reply to a submit that relayed the set is lost, and so is the wallet's answer when the
// first attempt asks after it (a worker that died there): the retry asks the wallet before
// anything, finds the set, and never sends it again, which the daemon could only refuse as
// a double spend.
func TestARetriedSubmitFindsTheSetItRelayedAndDoesNotSendItAgain(t *testing.T) {
	tw := newTestWallet(t)
	known := map[string]walletrpc.Transfer{}
	knowTransfers(tw.fake, known)
	byHash := tw.fake.handlers[walletrpc.MethodGetTransferByTxID]
	asked := 0
	tw.fake.handle(walletrpc.MethodGetTransferByTxID, func(params json.RawMessage) (any, error) {
		if asked++; asked == 1 {
			return nil, httpStatus(http.StatusBadGateway)
		}
		return byHash(params)
	})
	tw.fake.handle(walletrpc.MethodSubmitMultisig, func(json.RawMessage) (any, error) {
		known["h1"] = walletrpc.Transfer{Type: walletrpc.TransferTypePending}
		known["h2"] = walletrpc.Transfer{Type: walletrpc.TransferTypePending}
		return nil, httpStatus(http.StatusGatewayTimeout)
	})
	out, err := submitWithRetries(t, tw, submitInput())
	require.NoError(t, err)
	assert.True(t, out.Known)
	assert.True(t, out.Pending)
	submits := 0
	for _, m := range tw.fake.called() {
		if m == walletrpc.MethodSubmitMultisig {
			submits++
		}
	}
	assert.Equal(t, 1, submits, "the set is sent once")
}

// A first attempt does not ask the wallet about a set the workflow has just signed: it
// sends it, and a clean answer with the expected hashes is the set in the daemon's pool.
func TestAFirstSubmitSendsWithoutAskingTheWallet(t *testing.T) {
	tw := newTestWallet(t)
	knowTransfers(tw.fake, nil)
	tw.fake.answer(walletrpc.MethodSubmitMultisig, walletrpc.SubmitMultisigResult{TxHashList: []string{"h2", "h1"}})
	var out TxStatusResult
	require.NoError(t, tw.exec(tw.w.SubmitPayout, submitInput(), &out))
	assert.Equal(t, TxStatusResult{Known: true, Pending: true, Opens: 1}, out)
	assert.NotContains(t, tw.fake.called(), walletrpc.MethodGetTransferByTxID)
}

// submitWithRetries runs SubmitPayout from a workflow that retries it, as the escrow does.
func submitWithRetries(t *testing.T, tw *testWallet, in SubmitInput) (TxStatusResult, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(tw.w)
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in SubmitInput) (TxStatusResult, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Millisecond, MaximumAttempts: 3}})
		var out TxStatusResult
		err := workflow.ExecuteActivity(ctx, tw.w.SubmitPayout, in).Get(ctx, &out)
		return out, err
	}, workflow.RegisterOptions{Name: "submit-with-retries"})
	env.ExecuteWorkflow("submit-with-retries", in)
	require.True(t, env.IsWorkflowCompleted())
	if err := env.GetWorkflowError(); err != nil {
		return TxStatusResult{}, err
	}
	var out TxStatusResult
	require.NoError(t, env.GetWorkflowResult(&out))
	return out, nil
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
	knowTransfers(tw.fake, nil)
	tw.fake.answer(walletrpc.MethodSubmitMultisig, walletrpc.SubmitMultisigResult{TxHashList: []string{"h1"}})
	in := submitInput()
	in.TxHashes = nil
	var out TxStatusResult
	require.NoError(t, tw.exec(tw.w.SubmitPayout, in, &out))
	assert.True(t, out.Known, "the one hash is the set")
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
