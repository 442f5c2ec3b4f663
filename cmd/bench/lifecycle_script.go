package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// The script's roles: setup's role r is on instance inst[r] of its scriptWallets.
const (
	scriptBuyer  = 0
	scriptVendor = 1
)

// lifecycle runs whole escrows the direct way, all of ids at once, phase by phase, escrow j
// on instances 3j, 3j+1, 3j+2 (the pool holds 3 per escrow in flight), the wallets kept open
// from create_wallet to the end, so it never calls open_wallet: the floor of a lifecycle's
// wallet-rpc cost, as script.escrow is a setup's.
//
// The payout is the simplest one that moves the money: the two signers (buyer and vendor,
// for a release and for a refund alike) export_multisig_info and each imports the other's;
// the first builds one transfer of its whole unlocked balance to the payee with the fee
// subtracted from that output (subtract_fee_from_outputs: the payee gets the funded amount
// minus the fee, no change output), the second signs it (sign_multisig) and submits it
// (submit_multisig). The product's payout does more (describe_transfer and its checks before
// signing, the exact division, the fee cap, snapshots): part of what its extra cost pays for.
func (s *script) lifecycle(ctx context.Context, chain *devstack.Chain, ids, kinds []string, pay payees, after time.Duration) (lifeRun, error) {
	// The script never calls open_wallet: the wallets stay open from create_wallet on.
	m, err := newPhaseMeter(s.pids, func() int64 { return 0 })
	if err != nil {
		return lifeRun{}, err
	}
	wallets := make([]scriptWallets, len(ids))
	addrs := make([]string, len(ids))
	if err := eachOf(ids, func(j int, id string) (err error) {
		_, wallets[j], err = s.setup(ctx, j, id, 0)
		addrs[j] = wallets[j].address
		return wrap("setup", err)
	}); err != nil {
		return lifeRun{}, err
	}
	if err := m.lap(phaseSetup); err != nil {
		return lifeRun{}, err
	}

	// Funding: the buyer pays, the chain confirms, both signers see it unlocked.
	type signers struct {
		builder, signer *walletrpc.Client
		payee           string
	}
	sig := make([]signers, len(ids))
	for j, w := range wallets {
		sig[j] = signers{s.clients[w.inst[scriptBuyer]], s.clients[w.inst[scriptVendor]], pay.vendor}
		if kinds[j] == kindRefund {
			// A refund: the vendor agrees, so the vendor builds and the buyer signs and submits.
			sig[j] = signers{sig[j].signer, sig[j].builder, pay.buyer}
		}
	}
	if err := payAndMine(ctx, chain, addrs); err != nil {
		return lifeRun{}, err
	}
	mined := time.Now()
	if err := eachOf(ids, func(j int, _ string) error {
		return wrap("funding", waitUnlocked(ctx, []*walletrpc.Client{sig[j].builder, sig[j].signer}, lifePrice))
	}); err != nil {
		return lifeRun{}, err
	}
	m.run.minedToFunded = time.Since(mined)
	if err := m.lap(phaseFunding); err != nil {
		return lifeRun{}, err
	}

	// Payout.
	decided := time.Now()
	txs := make([][]string, len(ids))
	submitted := make([]time.Duration, len(ids))
	m.run.traces = make([]payoutTrace, len(ids))
	if err := eachOf(ids, func(j int, _ string) (err error) {
		txs[j], m.run.traces[j], err = scriptPayout(ctx, sig[j].builder, sig[j].signer, sig[j].payee)
		submitted[j] = time.Since(decided)
		return wrap("payout", err)
	}); err != nil {
		return lifeRun{}, err
	}
	m.run.decisionToSubmitted = slices.Max(submitted)
	if err := chain.Mine(ctx, lifeConfirmations); err != nil {
		return lifeRun{}, err
	}
	if err := eachOf(ids, func(j int, _ string) error {
		return wrap("payout", waitConfirmed(ctx, sig[j].signer, txs[j]))
	}); err != nil {
		return lifeRun{}, err
	}
	return m.finish(ctx, after)
}

// scriptPayout exchanges the two signers' multisig info, builds the payout on builder,
// signs and submits it on signer, and returns the submitted transactions and how long
// each step ran.
func scriptPayout(ctx context.Context, builder, signer *walletrpc.Client, payee string) ([]string, payoutTrace, error) {
	var tr payoutTrace
	start := time.Now()
	pair := [2]*walletrpc.Client{builder, signer}
	var exports [2]string
	if err := tr.time("export_multisig_info ×2", func() error {
		return both(func(i int) error {
			res, err := pair[i].ExportMultisigInfo(ctx)
			exports[i] = res.Info
			return err
		})
	}); err != nil {
		return nil, tr, fmt.Errorf("export_multisig_info: %w", err)
	}
	if err := tr.time("import_multisig_info ×2", func() error {
		return both(func(i int) error {
			_, err := pair[i].ImportMultisigInfo(ctx, walletrpc.ImportMultisigInfoRequest{Info: []string{exports[1-i]}})
			return err
		})
	}); err != nil {
		return nil, tr, fmt.Errorf("import_multisig_info: %w", err)
	}
	var bal walletrpc.GetBalanceResult
	if err := tr.time("get_balance", func() (err error) {
		bal, err = builder.GetBalance(ctx, walletrpc.GetBalanceRequest{})
		return err
	}); err != nil {
		return nil, tr, fmt.Errorf("get_balance: %w", err)
	}
	var tx walletrpc.TransferResult
	if err := tr.time("transfer", func() (err error) {
		tx, err = builder.Transfer(ctx, walletrpc.TransferRequest{
			Destinations:           []walletrpc.Destination{{Amount: bal.UnlockedBalance, Address: payee}},
			SubtractFeeFromOutputs: []uint32{0},
		})
		return err
	}); err != nil {
		return nil, tr, fmt.Errorf("transfer: %w", err)
	}
	var signed walletrpc.SignMultisigResult
	if err := tr.time("sign_multisig", func() (err error) {
		signed, err = signer.SignMultisig(ctx, walletrpc.SignMultisigRequest{TxDataHex: tx.MultisigTxset})
		return err
	}); err != nil {
		return nil, tr, fmt.Errorf("sign_multisig: %w", err)
	}
	var sub walletrpc.SubmitMultisigResult
	if err := tr.time("submit_multisig", func() (err error) {
		sub, err = signer.SubmitMultisig(ctx, walletrpc.SubmitMultisigRequest{TxDataHex: signed.TxDataHex})
		return err
	}); err != nil {
		return nil, tr, fmt.Errorf("submit_multisig: %w", err)
	}
	tr.total = time.Since(start)
	if len(sub.TxHashList) == 0 {
		return nil, tr, errors.New("submit_multisig relayed no transaction")
	}
	return sub.TxHashList, tr, nil
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
	return pollUntil(ctx, func() (short, err error) {
		if _, err := c.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
			return nil, fmt.Errorf("refresh: %w", err)
		}
		for _, tx := range txs {
			got, err := c.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: tx})
			if err != nil {
				return nil, fmt.Errorf("get_transfer_by_txid %s: %w", tx, err)
			}
			if got.Transfer.Confirmations < lifeConfirmations-1 {
				short = fmt.Errorf("%s has %d confirmations", tx, got.Transfer.Confirmations)
			}
		}
		return short, nil
	})
}

// waitUnlocked refreshes the wallets until each has at least amount unlocked: the
// script's view of "funded" (10 confirmations), as the product's funding check sees it.
func waitUnlocked(ctx context.Context, clients []*walletrpc.Client, amount uint64) error {
	return pollUntil(ctx, func() (short, err error) {
		for _, c := range clients {
			if _, err := c.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
				return nil, fmt.Errorf("refresh: %w", err)
			}
			bal, err := c.GetBalance(ctx, walletrpc.GetBalanceRequest{})
			if err != nil {
				return nil, fmt.Errorf("get_balance: %w", err)
			}
			if bal.UnlockedBalance < amount {
				short = fmt.Errorf("unlocked %d of %d", bal.UnlockedBalance, amount)
			}
		}
		return short, nil
	})
}
