package walletrpc_test

import (
	"context"
	"testing"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// doubleSpend builds two payouts of the same output from two export rounds (what a
// release racing a refund would do), relays one and then the other: the loser's
// submit_multisig is what IsMultisigSubmission must recognise.
func doubleSpend(ctx context.Context, t *testing.T, sw *stopwatch, chain *devstack.Chain, ws []signer, msAddr, payeeAddr string) {
	t.Helper()
	a, b, c := ws[0], ws[1], ws[2]
	sw.step("conflict: fund 1 XMR, mine until unlocked", func() error {
		if _, err := chain.Pay(ctx, msAddr, xmr); err != nil {
			return err
		}
		if err := chain.Mine(ctx, 1); err != nil {
			return err
		}
		_, _, err := mineUntilUnlocked(ctx, chain, a, xmr)
		return err
	})
	sign := func(creator, signer signer) walletrpc.SignMultisigResult {
		t.Helper()
		if _, err := syncMultisig(ctx, ws); err != nil {
			t.Fatal(err)
		}
		sweep, err := creator.rpc.SweepAll(ctx, walletrpc.SweepAllRequest{Address: payeeAddr})
		if err != nil {
			t.Fatalf("%s sweep_all: %v", creator.name, err)
		}
		signed, err := signer.rpc.SignMultisig(ctx, walletrpc.SignMultisigRequest{TxDataHex: sweep.MultisigTxset})
		if err != nil {
			t.Fatalf("%s sign_multisig: %v", signer.name, err)
		}
		return signed
	}
	var loser, winner walletrpc.SignMultisigResult
	sw.step("conflict: export/import, B sweeps, C signs (held back)", func() error {
		loser = sign(b, c)
		return nil
	})
	sw.step("conflict: export/import again, A sweeps, B signs, B submits", func() error {
		winner = sign(a, b)
		_, err := b.rpc.SubmitMultisig(ctx, walletrpc.SubmitMultisigRequest{TxDataHex: winner.TxDataHex})
		return err
	})
	if loser.TxHashList[0] == winner.TxHashList[0] {
		t.Fatal("two export rounds built the same transaction")
	}
	_, err := c.rpc.SubmitMultisig(ctx, walletrpc.SubmitMultisigRequest{TxDataHex: loser.TxDataHex})
	wantCode(t, "submit_multisig of a conflicting tx (winner in pool)", err, walletrpc.CodeMultisigSubmission, walletrpc.IsMultisigSubmission)
	_, err = c.rpc.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: loser.TxHashList[0]})
	wantCode(t, "get_transfer_by_txid(rejected tx) on its submitter", err, walletrpc.CodeWrongTxID, walletrpc.IsUnknownTx)
	if err := chain.Mine(ctx, 1); err != nil {
		t.Fatal(err)
	}
	_, err = c.rpc.SubmitMultisig(ctx, walletrpc.SubmitMultisigRequest{TxDataHex: loser.TxDataHex})
	wantCode(t, "submit_multisig of a conflicting tx (winner mined)", err, walletrpc.CodeMultisigSubmission, walletrpc.IsMultisigSubmission)
	again, err := a.rpc.SubmitMultisig(ctx, walletrpc.SubmitMultisigRequest{TxDataHex: winner.TxDataHex})
	if err != nil || len(again.TxHashList) != 1 || again.TxHashList[0] != winner.TxHashList[0] {
		t.Fatalf("resubmit of the mined winner from another signer: %v, %v", again, err)
	}
	if err := refreshAll(ctx, ws...); err != nil {
		t.Fatal(err)
	}
	for _, s := range ws {
		// The loser never reached the chain, so no wallet knows it: on -36 a payout
		// looks its hash up and finds nothing, while the winner shows up as "out".
		if _, err := s.rpc.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: loser.TxHashList[0]}); !walletrpc.IsUnknownTx(err) {
			t.Fatalf("%s get_transfer_by_txid(loser): want IsUnknownTx, got %v", s.name, err)
		}
		w, err := s.rpc.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: winner.TxHashList[0]})
		if err != nil || w.Transfer.Type != walletrpc.TransferTypeOut || w.Transfer.Confirmations != 1 {
			t.Fatalf("%s get_transfer_by_txid(winner) = %+v, %v", s.name, w.Transfer, err)
		}
	}
}
