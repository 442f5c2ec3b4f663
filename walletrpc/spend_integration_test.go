package walletrpc_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

const (
	xmr      = 1_000_000_000_000 // piconero
	escrowed = 5 * xmr
)

// TestIntegrationMultisigSpend proves the payout recipe on a real regtest chain: fund a
// 2-of-3 address, export/import, a partial transfer, then a sweep of the rest to the
// payee, and the errors a retrying payout meets on the way.
func TestIntegrationMultisigSpend(t *testing.T) {
	requireMoneroBinaries(t)
	ctx, cancel := context.WithTimeout(t.Context(), spendTestTimeout)
	defer cancel()
	sw := &stopwatch{t: t}
	defer sw.report()

	var chain *devstack.Chain
	sw.step("start chain (monerod + funder, mine 300)", func() (err error) {
		chain, err = devstack.StartChain(ctx, t.TempDir(), devstack.SpendableBlocks)
		return err
	})
	t.Cleanup(func() { _ = chain.Stop() })

	var all []signer
	sw.step("start 4 wallet-rpcs + create_wallet x4 (parallel)", func() (err error) {
		all, err = startWallets(ctx, t, chain, "buyer", "vendor", "arbiter", "payee")
		return err
	})
	signers, payee := all[:3], all[3]
	a, b, c := signers[0], signers[1], signers[2]
	var msAddr, payeeAddr string
	sw.step("multisig setup (prepare, make, exchange x2)", func() (err error) {
		msAddr, err = makeMultisig(ctx, signers)
		return err
	})
	pa, err := payee.rpc.GetAddress(ctx, walletrpc.GetAddressRequest{})
	if err != nil {
		t.Fatal(err)
	}
	payeeAddr = pa.Address

	v, err := a.rpc.ValidateAddress(ctx, walletrpc.ValidateAddressRequest{Address: payeeAddr})
	if err != nil || !v.Valid || v.Integrated || v.Subaddress || v.Nettype != "mainnet" {
		t.Fatalf("validate_address(payee) = %+v, %v; regtest wallets are mainnet", v, err)
	}
	if v, err := a.rpc.ValidateAddress(ctx, walletrpc.ValidateAddressRequest{Address: "4garbage"}); err != nil || v.Valid {
		t.Fatalf("validate_address(garbage) = %+v, %v", v, err)
	}

	// Funding: the multisig wallets see the money at once, spendable only later.
	var fundTx string
	sw.step("funder pays 5 XMR to the multisig address", func() (err error) {
		fundTx, err = chain.Pay(ctx, msAddr, escrowed)
		return err
	})
	sw.step("mine 1 + refresh x3", func() error {
		if err := chain.Mine(ctx, 1); err != nil {
			return err
		}
		return refreshAll(ctx, signers...)
	})
	bal, err := a.rpc.GetBalance(ctx, walletrpc.GetBalanceRequest{})
	if err != nil || bal.Balance != escrowed || bal.UnlockedBalance != 0 || !bal.MultisigImportNeeded {
		t.Fatalf("after 1 block: get_balance %+v, %v", bal, err)
	}
	t.Logf("observed get_balance after 1 confirmation: balance %d unlocked %d import_needed %v blocks_to_unlock %d",
		bal.Balance, bal.UnlockedBalance, bal.MultisigImportNeeded, bal.BlocksToUnlock)
	in, err := a.rpc.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: fundTx})
	if err != nil || in.Transfer.Type != walletrpc.TransferTypeIn || in.Transfer.Amount != escrowed || in.Transfer.Confirmations != 1 {
		t.Fatalf("funding tx on signer: %+v, %v", in.Transfer, err)
	}
	_, err = a.rpc.Transfer(ctx, payTo(payeeAddr, xmr))
	wantCode(t, "transfer while funds are locked", err, walletrpc.CodeNotEnoughUnlockedMoney, walletrpc.IsNotEnoughMoney)
	_, err = a.rpc.SweepAll(ctx, walletrpc.SweepAllRequest{Address: payeeAddr})
	wantCode(t, "sweep_all while funds are locked", err, walletrpc.CodeGenericTransferError, walletrpc.IsNoUnlockedBalance)

	var blocks int
	sw.step("mine 1 at a time until signer's unlocked balance = 5 XMR", func() (err error) {
		blocks, bal, err = mineUntilUnlocked(ctx, chain, a, escrowed)
		return err
	})
	t.Logf("observed: funds unlocked after %d more blocks (1 + %d = %d confirmations); import_needed %v",
		blocks, blocks, 1+blocks, bal.MultisigImportNeeded)
	if 1+blocks != 10 || !bal.MultisigImportNeeded {
		t.Fatalf("want unlock at 10 confirmations with import still needed; got %d, %+v", 1+blocks, bal)
	}
	_, err = a.rpc.Transfer(ctx, payTo(payeeAddr, xmr))
	wantCode(t, "transfer before import_multisig_info", err, walletrpc.CodeTxNotPossible, walletrpc.IsTxNotPossible)
	_, err = a.rpc.SweepAll(ctx, walletrpc.SweepAllRequest{Address: payeeAddr})
	wantCode(t, "sweep_all before import_multisig_info", err, walletrpc.CodeGenericTransferError, walletrpc.IsNoUnlockedBalance)

	sw.step("refresh + export x3, import x3 (round 1)", func() error {
		n, err := syncMultisig(ctx, signers)
		t.Logf("observed import_multisig_info n_outputs %v", n)
		return err
	})
	if bal, err := a.rpc.GetBalance(ctx, walletrpc.GetBalanceRequest{}); err != nil || bal.MultisigImportNeeded {
		t.Fatalf("after import: %+v, %v", bal, err)
	}
	_, err = a.rpc.Transfer(ctx, payTo(payeeAddr, 2*escrowed))
	wantCode(t, "transfer of more than the balance", err, walletrpc.CodeNotEnoughMoney, walletrpc.IsNotEnoughMoney)

	// Part 1: transfer (amount < balance) works for multisig and leaves change.
	var tr walletrpc.TransferResult
	sw.step("A transfer 1 XMR to payee", func() (err error) {
		tr, err = a.rpc.Transfer(ctx, walletrpc.TransferRequest{Destinations: []walletrpc.Destination{{Amount: xmr, Address: payeeAddr}}, GetTxKey: true})
		return err
	})
	t.Logf("observed transfer result (multisig): %v (txset %d chars)", tr, len(tr.MultisigTxset))
	if tr.MultisigTxset == "" || tr.Amount != xmr || tr.Fee == 0 {
		t.Fatalf("multisig transfer: %v", tr)
	}
	var desc walletrpc.DescribeTransferResult
	sw.step("B describe_transfer", func() (err error) {
		desc, err = b.rpc.DescribeTransfer(ctx, walletrpc.DescribeTransferRequest{MultisigTxset: tr.MultisigTxset})
		return err
	})
	logJSON(t, "describe_transfer (transfer)", desc)
	d := desc.Desc[0]
	if len(desc.Desc) != 1 || len(d.Recipients) != 1 || d.Recipients[0] != (walletrpc.Recipient{Address: payeeAddr, Amount: xmr}) ||
		d.Fee != tr.Fee || d.ChangeAddress != msAddr || d.ChangeAmount != escrowed-xmr-tr.Fee || d.AmountIn != escrowed || d.AmountIn != d.AmountOut+d.Fee {
		t.Fatalf("describe_transfer does not match the transfer: %+v", desc)
	}
	txid1, signed1 := signAndSubmit(ctx, t, sw, tr.MultisigTxset, a, b, c, "transfer")

	sw.step("mine 1 + refresh x3", func() error {
		if err := chain.Mine(ctx, 1); err != nil {
			return err
		}
		return refreshAll(ctx, signers...)
	})
	res, err := b.rpc.SubmitMultisig(ctx, walletrpc.SubmitMultisigRequest{TxDataHex: signed1})
	t.Logf("observed submit_multisig again after the tx was mined: %v, %v", res.TxHashList, err)
	if err != nil || len(res.TxHashList) != 1 || res.TxHashList[0] != txid1 {
		t.Fatalf("resubmit of a mined tx: %v, %v", res, err)
	}
	bal, err = a.rpc.GetBalance(ctx, walletrpc.GetBalanceRequest{})
	t.Logf("observed get_balance after the spend (1 conf): %+v, %v", bal, err)

	var change uint64 = escrowed - xmr - tr.Fee
	sw.step("mine until the change unlocks", func() (err error) {
		blocks, bal, err = mineUntilUnlocked(ctx, chain, a, change)
		return err
	})
	t.Logf("observed: change unlocked after %d more blocks; balance %+v", blocks, bal)
	if !bal.MultisigImportNeeded {
		t.Fatal("after a spend get_balance must ask for a new export/import round")
	}
	_, err = a.rpc.Transfer(ctx, payTo(payeeAddr, xmr/10))
	wantCode(t, "transfer after a spend without a new import", err, walletrpc.CodeTxNotPossible, walletrpc.IsTxNotPossible)
	_, err = a.rpc.SweepAll(ctx, walletrpc.SweepAllRequest{Address: payeeAddr})
	wantCode(t, "sweep_all after a spend without a new import", err, walletrpc.CodeGenericTransferError, walletrpc.IsNoUnlockedBalance)
	if err := refreshAll(ctx, signers...); err != nil {
		t.Fatal(err)
	}
	for _, s := range signers {
		got, err := s.rpc.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: txid1})
		if err != nil || got.Transfer.Type != walletrpc.TransferTypeOut || got.Transfer.Confirmations == 0 {
			t.Fatalf("%s get_transfer_by_txid(payout) = %+v, %v", s.name, got, err)
		}
		logJSON(t, s.name+" get_transfer_by_txid(transfer payout)", got.Transfer)
	}

	// Part 2: sweep_all of the rest, signed this time by the other pair (C creates, A signs).
	sw.step("refresh + export x3, import x3 (round 2, after the spend)", func() error {
		_, err := syncMultisig(ctx, signers)
		return err
	})
	var sweep walletrpc.SweepAllResult
	sw.step("C sweep_all to payee", func() (err error) {
		sweep, err = c.rpc.SweepAll(ctx, walletrpc.SweepAllRequest{Address: payeeAddr})
		return err
	})
	t.Logf("observed sweep_all result (multisig): %v", sweep)
	if len(sweep.AmountList) != 1 || sweep.AmountList[0]+sweep.FeeList[0] != change || sweep.MultisigTxset == "" {
		t.Fatalf("sweep_all: %v; want one tx of amount+fee = %d", sweep, change)
	}
	sw.step("A describe_transfer", func() (err error) {
		desc, err = a.rpc.DescribeTransfer(ctx, walletrpc.DescribeTransferRequest{MultisigTxset: sweep.MultisigTxset})
		return err
	})
	logJSON(t, "describe_transfer (sweep_all)", desc)
	if desc.Summary.ChangeAmount != 0 || desc.Summary.Fee != sweep.FeeList[0] ||
		len(desc.Summary.Recipients) != 1 || desc.Summary.Recipients[0].Amount != sweep.AmountList[0] {
		t.Fatalf("describe_transfer(sweep) = %+v", desc)
	}
	txid2, _ := signAndSubmit(ctx, t, sw, sweep.MultisigTxset, c, a, b, "sweep")

	sw.step("mine 10 + refresh payee and signers", func() error {
		if err := chain.Mine(ctx, 10); err != nil {
			return err
		}
		return refreshAll(ctx, all...)
	})
	got, err := payee.rpc.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: txid2})
	if err != nil || got.Transfer.Type != walletrpc.TransferTypeIn || got.Transfer.Amount != sweep.AmountList[0] || got.Transfer.Confirmations != 10 {
		t.Fatalf("payee get_transfer_by_txid(sweep) = %+v, %v", got, err)
	}
	pin, err := payee.rpc.GetTransfers(ctx, walletrpc.GetTransfersRequest{In: true})
	if err != nil || len(pin.In) != 2 || pin.In[0].Amount+pin.In[1].Amount != escrowed-tr.Fee-sweep.FeeList[0] {
		t.Fatalf("payee incoming: %+v, %v", pin.In, err)
	}
	h := got.Transfer.Height
	for _, tc := range []struct {
		min  uint64
		want int
	}{{h - 1, 1}, {h, 0}} {
		f, err := payee.rpc.GetTransfers(ctx, walletrpc.GetTransfersRequest{In: true, FilterByHeight: true, MinHeight: tc.min})
		if err != nil || len(f.In) != tc.want {
			t.Fatalf("filter min_height %d (sweep at %d): %d transfers, %v; want %d (exclusive bound)", tc.min, h, len(f.In), err, tc.want)
		}
	}
	for _, s := range signers {
		bal, err := s.rpc.GetBalance(ctx, walletrpc.GetBalanceRequest{})
		if err != nil || bal.Balance != 0 {
			t.Fatalf("%s after sweep: %+v, %v", s.name, bal, err)
		}
		out, err := s.rpc.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: txid2})
		if err != nil || out.Transfer.Type != walletrpc.TransferTypeOut || out.Transfer.Confirmations != 10 {
			t.Fatalf("%s get_transfer_by_txid(sweep) = %+v, %v", s.name, out, err)
		}
	}
	t.Logf("observed: payee received %d (escrowed %d - fees %d - %d) in 2 txs; sweep alone pays balance - fee",
		pin.In[0].Amount+pin.In[1].Amount, escrowed, tr.Fee, sweep.FeeList[0])

	_, err = a.rpc.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: "00000000000000000000000000000000000000000000000000000000000000ff"})
	wantCode(t, "get_transfer_by_txid(unknown hash)", err, walletrpc.CodeWrongTxID, walletrpc.IsUnknownTx)
	_, err = a.rpc.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: "xyz"})
	if wantCode(t, "get_transfer_by_txid(malformed)", err, walletrpc.CodeWrongTxID, nil); walletrpc.IsUnknownTx(err) {
		t.Fatal("a malformed txid must not look like an unknown one")
	}

	doubleSpend(ctx, t, sw, chain, signers, msAddr, payeeAddr)
	timeLocked(ctx, t, sw, chain, a, msAddr)
}

// timeLocked: 0.18.5.3 makes no time-locked transfer, and the only time-locked payment left
// is a coinbase, which the multisig wallet lists in "in" (type "block") with its
// unlock_time, locked, until CoinbaseLockBlocks have passed.
func timeLocked(ctx context.Context, t *testing.T, sw *stopwatch, chain *devstack.Chain, w signer, msAddr string) {
	t.Helper()
	h, err := chain.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	locked := payTo(msAddr, xmr)
	locked.UnlockTime = h + 1000
	_, err = chain.FunderClient.Transfer(ctx, locked)
	wantCode(t, "transfer with a non-zero unlock_time (0.18.0.0 sent it)", err, walletrpc.CodeNonzeroUnlockTime, nil)

	var cb devstack.CoinbasePayment
	sw.step("mine 1 block whose coinbase pays the multisig address", func() (err error) {
		cb, err = chain.PayTimeLocked(ctx, msAddr)
		return err
	})
	if cb.Height != h || cb.UnlockTime != h+devstack.CoinbaseLockBlocks {
		t.Fatalf("coinbase %+v at chain height %d", cb, h)
	}
	find := func() walletrpc.Transfer {
		t.Helper()
		if err := refreshAll(ctx, w); err != nil {
			t.Fatal(err)
		}
		res, err := w.rpc.GetTransfers(ctx, walletrpc.GetTransfersRequest{In: true, Pool: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range res.In {
			if tr.TxID == cb.TxID {
				return tr
			}
		}
		t.Fatalf("the coinbase %s is not in the multisig wallet's get_transfers in: %+v", cb.TxID, res.In)
		return walletrpc.Transfer{}
	}
	tr := find()
	logJSON(t, "multisig wallet's get_transfers entry for a coinbase", tr)
	if tr.Type != walletrpc.TransferTypeBlock || tr.Amount != cb.Amount || tr.UnlockTime != cb.UnlockTime || !tr.Locked || tr.Height != cb.Height {
		t.Fatalf("coinbase entry %+v, want type block, amount %d, unlock_time %d, locked, height %d", tr, cb.Amount, cb.UnlockTime, cb.Height)
	}
	sw.step("mine until the coinbase unlocks", func() error {
		return chain.Mine(ctx, devstack.CoinbaseLockBlocks)
	})
	if tr = find(); tr.Locked {
		t.Fatalf("coinbase still locked after %d blocks: %+v", devstack.CoinbaseLockBlocks, tr)
	}
}

// signAndSubmit has cosigner (who did not create the txset) sign it, checks the
// refusals a retrying payout meets, submits twice and returns the tx hash and the
// signed txset.
func signAndSubmit(ctx context.Context, t *testing.T, sw *stopwatch, txset string, creator, cosigner, third signer, label string) (string, string) {
	t.Helper()
	var signed walletrpc.SignMultisigResult
	sw.step(cosigner.name+" sign_multisig ("+label+")", func() (err error) {
		signed, err = cosigner.rpc.SignMultisig(ctx, walletrpc.SignMultisigRequest{TxDataHex: txset})
		return err
	})
	if len(signed.TxHashList) != 1 || len(signed.TxHashList[0]) != 64 || signed.TxDataHex == "" {
		t.Fatalf("sign_multisig: %v", signed)
	}
	txid := signed.TxHashList[0]
	_, err := cosigner.rpc.SignMultisig(ctx, walletrpc.SignMultisigRequest{TxDataHex: txset})
	wantCode(t, "second sign_multisig of the same txset by the same signer", err, walletrpc.CodeMultisigSignature, walletrpc.IsStaleMultisig)
	_, err = creator.rpc.SignMultisig(ctx, walletrpc.SignMultisigRequest{TxDataHex: txset})
	wantCode(t, "sign_multisig by the txset's creator", err, walletrpc.CodeMultisigSignature, walletrpc.IsStaleMultisig)
	_, err = third.rpc.SubmitMultisig(ctx, walletrpc.SubmitMultisigRequest{TxDataHex: txset})
	wantCode(t, "submit_multisig of the unsigned txset", err, walletrpc.CodeThresholdNotReached, walletrpc.IsThresholdNotReached)

	var sub walletrpc.SubmitMultisigResult
	sw.step(cosigner.name+" submit_multisig ("+label+")", func() (err error) {
		sub, err = cosigner.rpc.SubmitMultisig(ctx, walletrpc.SubmitMultisigRequest{TxDataHex: signed.TxDataHex})
		return err
	})
	if len(sub.TxHashList) != 1 || sub.TxHashList[0] != txid {
		t.Fatalf("submit_multisig hashes %v, sign said %s", sub.TxHashList, txid)
	}
	for _, s := range []signer{cosigner, third} {
		again, err := s.rpc.SubmitMultisig(ctx, walletrpc.SubmitMultisigRequest{TxDataHex: signed.TxDataHex})
		t.Logf("observed second submit_multisig (tx in pool) on %s: %v, %v", s.name, again.TxHashList, err)
		if err != nil || len(again.TxHashList) != 1 || again.TxHashList[0] != txid {
			t.Fatalf("resubmit: %v, %v", again, err)
		}
	}
	p, err := cosigner.rpc.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: txid})
	if err != nil || p.Transfer.Type != walletrpc.TransferTypePending {
		t.Fatalf("submitter's get_transfer_by_txid right after submit = %+v, %v", p.Transfer, err)
	}
	return txid, signed.TxDataHex
}

// payTo is a one-destination transfer request.
func payTo(addr string, amount uint64) walletrpc.TransferRequest {
	return walletrpc.TransferRequest{Destinations: []walletrpc.Destination{{Amount: amount, Address: addr}}}
}

// logJSON logs v's wire shape, which is what the report quotes.
func logJSON(t *testing.T, what string, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	t.Logf("observed %s: %s", what, b)
}
