package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// The script's roles: setup's role r is instance inst[r] of scriptWallets.
const (
	scriptBuyer  = 0
	scriptVendor = 1
)

// lifecycle runs one whole escrow the direct way, on instances 0, 1, 2 (one escrow at a
// time), the wallets kept open from create_wallet to the end, so it never calls open_wallet:
// the floor of a lifecycle's wallet-rpc cost, as script.escrow is a setup's.
//
// The payout is the simplest one that moves the money: the two signers (buyer and vendor,
// for a release and for a refund alike) export_multisig_info and each imports the other's;
// the first builds one transfer of its whole unlocked balance to the payee with the fee
// subtracted from that output (subtract_fee_from_outputs: the payee gets the funded amount
// minus the fee, no change output), the second signs it (sign_multisig) and submits it
// (submit_multisig). The product's payout does more (describe_transfer and its checks before
// signing, the exact division, the fee cap, snapshots): part of what its extra cost pays for.
func (s *script) lifecycle(ctx context.Context, chain *devstack.Chain, id, kind string, pay payees, after time.Duration) (lifeRun, error) {
	// The script never calls open_wallet: the wallets stay open from create_wallet on.
	m, err := newPhaseMeter(s.pids, func() int64 { return 0 })
	if err != nil {
		return lifeRun{}, err
	}
	_, w, err := s.setup(ctx, 0, id, 0)
	if err != nil {
		return lifeRun{}, fmt.Errorf("setup: %w", err)
	}
	if err := m.lap(phaseSetup); err != nil {
		return lifeRun{}, err
	}

	// Funding: the buyer pays, the chain confirms, both signers see it unlocked.
	builder, signer := s.clients[w.inst[scriptBuyer]], s.clients[w.inst[scriptVendor]]
	payee := pay.vendor
	if kind == kindRefund {
		// A refund: the vendor agrees, so the vendor builds and the buyer signs and submits.
		builder, signer, payee = signer, builder, pay.buyer
	}
	if _, err := chain.Pay(ctx, w.address, lifePrice); err != nil {
		return lifeRun{}, fmt.Errorf("pay the escrow: %w", err)
	}
	if err := chain.Mine(ctx, lifeConfirmations); err != nil {
		return lifeRun{}, err
	}
	if err := waitUnlocked(ctx, []*walletrpc.Client{builder, signer}, lifePrice); err != nil {
		return lifeRun{}, fmt.Errorf("funding: %w", err)
	}
	if err := m.lap(phaseFunding); err != nil {
		return lifeRun{}, err
	}

	// Payout.
	decided := time.Now()
	txs, err := scriptPayout(ctx, builder, signer, payee)
	if err != nil {
		return lifeRun{}, fmt.Errorf("payout: %w", err)
	}
	m.run.decisionToSubmitted = time.Since(decided)
	if err := chain.Mine(ctx, lifeConfirmations); err != nil {
		return lifeRun{}, err
	}
	if err := waitConfirmed(ctx, signer, txs); err != nil {
		return lifeRun{}, fmt.Errorf("payout: %w", err)
	}
	if err := m.lap(phasePayout); err != nil {
		return lifeRun{}, err
	}
	if err := idle(ctx, after); err != nil {
		return lifeRun{}, err
	}
	if err := m.lap(phaseAfter); err != nil {
		return lifeRun{}, err
	}
	return m.run, nil
}

// scriptPayout exchanges the two signers' multisig info, builds the payout on builder,
// signs and submits it on signer, and returns the submitted transactions.
func scriptPayout(ctx context.Context, builder, signer *walletrpc.Client, payee string) ([]string, error) {
	pair := [2]*walletrpc.Client{builder, signer}
	var exports [2]string
	if err := both(func(i int) error {
		res, err := pair[i].ExportMultisigInfo(ctx)
		exports[i] = res.Info
		return err
	}); err != nil {
		return nil, fmt.Errorf("export_multisig_info: %w", err)
	}
	if err := both(func(i int) error {
		_, err := pair[i].ImportMultisigInfo(ctx, walletrpc.ImportMultisigInfoRequest{Info: []string{exports[1-i]}})
		return err
	}); err != nil {
		return nil, fmt.Errorf("import_multisig_info: %w", err)
	}
	bal, err := builder.GetBalance(ctx, walletrpc.GetBalanceRequest{})
	if err != nil {
		return nil, fmt.Errorf("get_balance: %w", err)
	}
	tx, err := builder.Transfer(ctx, walletrpc.TransferRequest{
		Destinations:           []walletrpc.Destination{{Amount: bal.UnlockedBalance, Address: payee}},
		SubtractFeeFromOutputs: []uint32{0},
	})
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	signed, err := signer.SignMultisig(ctx, walletrpc.SignMultisigRequest{TxDataHex: tx.MultisigTxset})
	if err != nil {
		return nil, fmt.Errorf("sign_multisig: %w", err)
	}
	sub, err := signer.SubmitMultisig(ctx, walletrpc.SubmitMultisigRequest{TxDataHex: signed.TxDataHex})
	if err != nil {
		return nil, fmt.Errorf("submit_multisig: %w", err)
	}
	if len(sub.TxHashList) == 0 {
		return nil, errors.New("submit_multisig relayed no transaction")
	}
	return sub.TxHashList, nil
}

// both runs fn for the two signers at once, as the product runs their exports.
func both(fn func(i int) error) error {
	var errs [2]error
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	return errors.Join(errs[:]...)
}

// waitConfirmed refreshes c until each of txs has 10 confirmations (what the product waits
// for before an escrow is completed).
func waitConfirmed(ctx context.Context, c *walletrpc.Client, txs []string) error {
	for {
		if _, err := c.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
			return fmt.Errorf("refresh: %w", err)
		}
		var short error
		for _, tx := range txs {
			got, err := c.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: tx})
			if err != nil {
				return fmt.Errorf("get_transfer_by_txid %s: %w", tx, err)
			}
			if got.Transfer.Confirmations < lifeConfirmations-1 {
				short = fmt.Errorf("%s has %d confirmations", tx, got.Transfer.Confirmations)
			}
		}
		if short == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), short)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
