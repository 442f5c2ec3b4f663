package walletrpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// recordedResults are results as v0.18.0.0 sent them in TestIntegrationMultisigSpend
// (addresses, hex and txsets shortened), so decoding is pinned to the real wire shape.
var recordedResults = map[string]string{
	MethodRefresh:            `{"blocks_fetched": 11, "received_money": true}`,
	MethodGetBalance:         `{"balance": 5000000000000, "blocks_to_unlock": 9, "multisig_import_needed": true, "per_subaddress": [{"account_index": 0, "address": "46hu", "address_index": 0, "balance": 5000000000000, "blocks_to_unlock": 9, "label": "Primary account", "num_unspent_outputs": 1, "time_to_unlock": 0, "unlocked_balance": 0}], "time_to_unlock": 0, "unlocked_balance": 0}`,
	MethodGetTransfers:       `{"in": [{"address": "46hu", "amount": 5000000000000, "amounts": [5000000000000], "confirmations": 1, "double_spend_seen": false, "fee": 2605200000, "height": 301, "locked": true, "note": "", "payment_id": "0000000000000000", "subaddr_index": {"major": 0, "minor": 0}, "subaddr_indices": [{"major": 0, "minor": 0}], "suggested_confirmations_threshold": 1, "timestamp": 1795738921, "txid": "1a70", "type": "in", "unlock_time": 0}]}`,
	MethodGetTransferByTxID:  `{"transfer": {"address": "46hu", "amount": 4998191600000, "confirmations": 1, "destinations": [{"address": "48kQ", "amount": 4998191600000}], "double_spend_seen": false, "fee": 1808400000, "height": 314, "locked": true, "note": "", "payment_id": "0000000000000000", "subaddr_index": {"major": 0, "minor": 0}, "subaddr_indices": [{"major": 0, "minor": 0}], "suggested_confirmations_threshold": 1, "timestamp": 1795738944, "txid": "130c", "type": "out", "unlock_time": 0}, "transfers": [{"txid": "130c", "type": "out"}]}`,
	methodValidateAddress:    `{"integrated": false, "nettype": "mainnet", "openalias_address": "", "subaddress": false, "valid": true}`,
	MethodGetHeight:          `{"height": 301}`,
	methodExportMultisigInfo: `{"info": "4d6f6e65726f206d756c"}`,
	methodImportMultisigInfo: `{"n_outputs": 1}`,
	MethodTransfer:           `{"amount": 1000000000000, "fee": 1808400000, "multisig_txset": "4d6f6e65", "spent_key_images": {"key_images": ["0117"]}, "tx_blob": "", "tx_hash": "", "tx_key": "65f8", "tx_metadata": "", "unsigned_txset": "", "weight": 1507}`,
	MethodSweepAll:           `{"amount_list": [4998191600000], "fee_list": [1808400000], "multisig_txset": "4d6f6e65", "spent_key_images_list": [{"key_images": ["0117"]}], "unsigned_txset": "", "weight_list": [1507]}`,
	MethodDescribeTransfer:   `{"desc": [{"amount_in": 5000000000000, "amount_out": 4998191600000, "change_address": "", "change_amount": 0, "dummy_outputs": 1, "extra": "0163", "fee": 1808400000, "payment_id": "", "recipients": [{"address": "48kQ", "amount": 4998191600000}], "ring_size": 16, "unlock_time": 0}], "summary": {"amount_in": 5000000000000, "amount_out": 4998191600000, "change_address": "", "change_amount": 0, "fee": 1808400000, "recipients": [{"address": "48kQ", "amount": 4998191600000}]}}`,
	MethodSignMultisig:       `{"tx_data_hex": "4d6f", "tx_hash_list": ["130c"]}`,
	MethodSubmitMultisig:     `{"tx_hash_list": ["130c"]}`,
	methodGenerateBlocks:     `{"blocks": ["8f22", "0604"], "height": 100, "status": "OK", "untrusted": false}`,
	MethodGetInfo:            `{"height": 301, "nettype": "fakechain", "offline": true, "status": "OK", "synchronized": true, "target_height": 0, "top_block_hash": "4180"}`,
}

// recorder answers every method from recordedResults (or with status) and keeps the params.
type recorder struct {
	mu     sync.Mutex
	params map[string]map[string]any
	status string // overrides "OK" in daemon results when set
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params map[string]any  `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	rec.mu.Lock()
	rec.params[req.Method] = req.Params
	rec.mu.Unlock()
	result := recordedResults[req.Method]
	if rec.status != "" {
		result = strings.Replace(result, `"status": "OK"`, fmt.Sprintf("%q: %q", "status", rec.status), 1)
	}
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, result)
}

func newRecorder(t *testing.T) (*recorder, string) {
	rec := &recorder{params: map[string]map[string]any{}}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

func TestSpendCallsDecodeRecordedShapes(t *testing.T) {
	rec, url := newRecorder(t)
	c := New(Config{URL: url})
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	bal, err := c.GetBalance(ctx, GetBalanceRequest{})
	must(err)
	if bal.Balance != 5e12 || !bal.MultisigImportNeeded || bal.BlocksToUnlock != 9 || bal.PerSubaddress[0].NumUnspentOutputs != 1 {
		t.Fatalf("get_balance %+v", bal)
	}
	tr, err := c.GetTransfers(ctx, GetTransfersRequest{In: true})
	must(err)
	if len(tr.In) != 1 || tr.In[0].Type != TransferTypeIn || tr.In[0].Confirmations != 1 || !tr.In[0].Locked || tr.Out != nil {
		t.Fatalf("get_transfers %+v", tr)
	}
	if p := rec.params[MethodGetTransfers]; p["max_height"] != nil || p["filter_by_height"] != nil || p["in"] != true {
		t.Fatalf("get_transfers params %v: an unset MaxHeight must be absent (server default: no bound)", p)
	}
	one, err := c.GetTransferByTxID(ctx, GetTransferByTxIDRequest{TxID: "130c"})
	must(err)
	if one.Transfer.Destinations[0].Amount != 4998191600000 || len(one.Transfers) != 1 || one.Transfer.Height != 314 {
		t.Fatalf("get_transfer_by_txid %+v", one)
	}
	sweep, err := c.SweepAll(ctx, SweepAllRequest{Address: "48kQ"})
	must(err)
	if sweep.AmountList[0]+sweep.FeeList[0] != 5e12 || sweep.TxHashList != nil || len(sweep.SpentKeyImagesList) != 1 {
		t.Fatalf("sweep_all %+v", sweep)
	}
	if p := rec.params[MethodSweepAll]; p["outputs"] != nil || p["ring_size"] != nil {
		t.Fatalf("sweep_all params %v: zero outputs/ring_size must be left to the wallet", p)
	}
	desc, err := c.DescribeTransfer(ctx, DescribeTransferRequest{MultisigTxset: "4d6f"})
	must(err)
	want := Recipient{Address: "48kQ", Amount: 4998191600000}
	if desc.Desc[0].Recipients[0] != want || desc.Summary.Recipients[0] != want || desc.Desc[0].DummyOutputs != 1 || desc.Summary.Fee != 1808400000 {
		t.Fatalf("describe_transfer %+v", desc)
	}
	if p := rec.params[MethodDescribeTransfer]; p["unsigned_txset"] != nil || p["multisig_txset"] != "4d6f" {
		t.Fatalf("describe_transfer params %v", p)
	}
	xfer, err := c.Transfer(ctx, TransferRequest{Destinations: []Destination{{Amount: 1, Address: "48kQ"}}})
	must(err)
	if xfer.TxHash != "" || xfer.MultisigTxset == "" || xfer.SpentKeyImages.KeyImages[0] != "0117" {
		t.Fatalf("transfer %+v", xfer)
	}
	signed, err := c.SignMultisig(ctx, SignMultisigRequest{TxDataHex: "4d6f"})
	must(err)
	sub, err := c.SubmitMultisig(ctx, SubmitMultisigRequest{TxDataHex: signed.TxDataHex})
	must(err)
	if !reflect.DeepEqual(sub.TxHashList, signed.TxHashList) {
		t.Fatalf("sign %v / submit %v", signed, sub)
	}
	for _, f := range []func() error{
		func() error { _, err := c.Refresh(ctx, RefreshRequest{}); return err },
		func() error { _, err := c.ValidateAddress(ctx, ValidateAddressRequest{Address: "4"}); return err },
		func() error { _, err := c.GetHeight(ctx); return err },
		func() error { _, err := c.ExportMultisigInfo(ctx); return err },
		func() error {
			_, err := c.ImportMultisigInfo(ctx, ImportMultisigInfoRequest{Info: []string{"a"}})
			return err
		},
	} {
		must(f())
	}
	if p := rec.params[MethodRefresh]; len(p) != 0 {
		t.Fatalf("refresh params %v: zero StartHeight must be absent", p)
	}
}

func TestDaemonCalls(t *testing.T) {
	rec, url := newRecorder(t)
	d := NewDaemon(Config{URL: url + "/"})
	if d.url() != url {
		t.Fatalf("URL %q", d.url())
	}
	g, err := d.GenerateBlocks(t.Context(), GenerateBlocksRequest{AmountOfBlocks: 2, WalletAddress: "46K6"})
	if err != nil || g.Height != 100 || len(g.Blocks) != 2 {
		t.Fatalf("generateblocks %+v, %v", g, err)
	}
	if p := rec.params[methodGenerateBlocks]; p["amount_of_blocks"] != 2.0 || p["wallet_address"] != "46K6" || p["prev_block"] != nil {
		t.Fatalf("generateblocks params %v", p)
	}
	info, err := d.GetInfo(t.Context())
	if err != nil || info.Height != 301 || info.Nettype != "fakechain" || !info.Synchronized {
		t.Fatalf("get_info %+v, %v", info, err)
	}

	rec.status = "BUSY"
	_, err = d.GetInfo(t.Context())
	var pErr *protocolError
	if !errors.As(err, &pErr) || !IsRetryable(err) || !strings.HasPrefix(err.Error(), "monerod get_info") {
		t.Fatalf("status BUSY: want a retryable protocolError from monerod, got %T %v", err, err)
	}
}

func TestSpendPredicates(t *testing.T) {
	// Messages as v0.18.0.0 sent them (see TestIntegrationMultisigSpend).
	locked := rpcErr(CodeNotEnoughUnlockedMoney, "not enough unlocked money")
	short := rpcErr(codeNotEnoughMoney, "not enough money")
	noTx := rpcErr(CodeTxNotPossible, "No transaction created")
	sweepLocked := rpcErr(CodeGenericTransferError, "No unlocked balance in the specified subaddress(es)")
	otherTransfer := rpcErr(CodeGenericTransferError, "something else")
	stale := rpcErr(CodeMultisigSignature, "Failed to sign multisig tx: This signature was made with stale data: export fresh multisig data, which other participants must then use")
	rejected := rpcErr(CodeMultisigSubmission, "Failed to submit multisig tx: transaction was rejected by daemon")
	unsigned := rpcErr(codeThresholdNotReached, "Not enough signers signed this transaction.")
	unknown := rpcErr(CodeWrongTxID, "Transaction not found.")
	malformed := rpcErr(CodeWrongTxID, "Transaction ID has invalid format")

	preds := map[string]func(error) bool{
		"isNotEnoughMoney": isNotEnoughMoney, "isTxNotPossible": isTxNotPossible, "IsNoUnlockedBalance": IsNoUnlockedBalance,
		"isStaleMultisig": isStaleMultisig, "isMultisigSubmission": isMultisigSubmission,
		"isThresholdNotReached": isThresholdNotReached, "IsUnknownTx": IsUnknownTx,
	}
	matches := map[error][]string{
		locked: {"isNotEnoughMoney"}, short: {"isNotEnoughMoney"}, noTx: {"isTxNotPossible"},
		sweepLocked: {"IsNoUnlockedBalance"}, otherTransfer: nil, stale: {"isStaleMultisig"},
		rejected: {"isMultisigSubmission"}, unsigned: {"isThresholdNotReached"}, unknown: {"IsUnknownTx"},
		malformed: nil, nil: nil, errors.New("plain"): nil,
	}
	for err, want := range matches {
		for name, pred := range preds {
			if got := pred(err); got != (len(want) == 1 && want[0] == name) {
				t.Errorf("%s(%v) = %v", name, err, got)
			}
		}
		if IsRetryable(err) {
			t.Errorf("IsRetryable(%v): a spend refusal is final for the same call", err)
		}
	}
}

func TestSpendRedactedStrings(t *testing.T) {
	for _, v := range []any{
		ExportMultisigInfoResult{Info: "secret-export"},
		ImportMultisigInfoRequest{Info: []string{"secret-export"}},
		TransferResult{TxHash: "h", TxKey: "secret-key", TxBlob: "secret-blob", TxMetadata: "secret-meta", MultisigTxset: "secret-set", UnsignedTxset: "secret-set"},
		SweepAllResult{TxKeyList: []string{"secret-key"}, TxBlobList: []string{"secret-blob"}, TxMetadataList: []string{"secret-meta"}, MultisigTxset: "secret-set", UnsignedTxset: "secret-set"},
		DescribeTransferRequest{MultisigTxset: "secret-set", UnsignedTxset: "secret-set"},
		SignMultisigRequest{TxDataHex: "secret-set"},
		SignMultisigResult{TxDataHex: "secret-set", TxHashList: []string{"h"}},
		SubmitMultisigRequest{TxDataHex: "secret-set"},
	} {
		for _, s := range []string{fmt.Sprint(v), fmt.Sprintf("%v %+v %s", v, v, v)} {
			if strings.Contains(s, "secret") {
				t.Errorf("%T leaks: %s", v, s)
			}
		}
	}
}
