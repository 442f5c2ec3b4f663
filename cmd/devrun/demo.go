package main

import (
	"context"
	"fmt"
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/localstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// demoPrice is what the demo buyer pays: 1.25 XMR.
const demoPrice = 1_250_000_000_000

// demo walks one escrow from order to release on the regtest chain, as the marketplace,
// the buyer and the vendor would.
type demo struct {
	s       *localstack.Stack
	chain   *devstack.Chain
	id      string
	delay   time.Duration
	started time.Time
	last    string
}

func (d *demo) run(ctx context.Context) error {
	vendor, buyer, err := d.payees(ctx)
	if err != nil {
		return err
	}
	d.started = time.Now()
	run, err := d.s.Starter.Start(ctx, escrow.EscrowInput{
		EscrowID: d.id, PurgeDelay: &d.delay,
		Order: escrow.Order{
			OrderID: "order-" + d.id, BuyerID: "demo-buyer", VendorID: "demo-vendor", ArbiterID: "demo-arbiter",
			AmountAtomic: demoPrice, VendorPayoutAddress: vendor, BuyerRefundAddress: buyer,
		},
		Timing: escrow.Timing{FundingPoll: time.Second, FundingPollMax: 5 * time.Second, PayoutPoll: time.Second},
	})
	if err != nil {
		return err
	}
	link := d.s.Temporal.WorkflowURL(run.WorkflowID, run.RunID)
	fmt.Printf("escrow %s for 1.25 XMR started: %s\n", d.id, link)

	st, err := d.until(ctx, func(st escrow.State) bool { return st.Phase == escrow.PhaseReady || st.Phase == escrow.PhaseFailed })
	if err != nil {
		return err
	}
	if st.Phase == escrow.PhaseFailed {
		return fmt.Errorf("escrow %s: setup failed: %s", d.id, st.Reason)
	}
	fmt.Printf("         multisig address %s (%d open_wallet calls)\n", st.Address, st.WalletOpens)
	fmt.Println("         the buyer pays 1.25 XMR to it; mining 11 blocks")
	if _, err := d.chain.Pay(ctx, st.Address, demoPrice); err != nil {
		return err
	}
	if err := d.chain.Mine(ctx, 11); err != nil {
		return err
	}
	if _, err := d.until(ctx, func(st escrow.State) bool { return st.Status == escrow.StatusFunded }); err != nil {
		return err
	}
	for _, step := range []struct {
		say  string
		name escrow.UpdateName
		in   escrow.DecisionInput
	}{
		{"the vendor marks the order shipped", escrow.UpdateMarkShipped, escrow.DecisionInput{Role: escrow.Vendor, ActorID: "demo-vendor"}},
		{"the buyer confirms receipt: release to the vendor", escrow.UpdateConfirmReceipt, escrow.DecisionInput{Role: escrow.Buyer, ActorID: "demo-buyer"}},
	} {
		fmt.Printf("         %s\n", step.say)
		if _, err := d.s.Starter.Decide(ctx, d.id, step.name, step.in); err != nil {
			return err
		}
		d.print(ctx)
	}
	if _, err := d.until(ctx, func(st escrow.State) bool { return st.Payout != nil && st.Payout.Submitted }); err != nil {
		return err
	}
	fmt.Println("         payout submitted; mining 11 blocks")
	if err := d.chain.Mine(ctx, 11); err != nil {
		return err
	}
	if st, err = d.until(ctx, func(st escrow.State) bool { return st.Status.Final() }); err != nil {
		return err
	}
	p := st.Payout
	fmt.Printf("\nthe vendor received %s XMR (fee %s XMR) in transaction %s\n", xmr(p.AmountAtomic), xmr(p.FeeAtomic), p.TxHash)
	if _, err := d.chain.FunderClient.Refresh(ctx, walletrpc.RefreshRequest{}); err == nil {
		if got, err := d.chain.FunderClient.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: p.TxHash}); err == nil {
			fmt.Printf("the vendor's wallet sees it: %s XMR in, %d confirmations\n", xmr(got.Transfer.Amount), got.Transfer.Confirmations)
		}
	}
	if row, err := d.s.Starter.Get(ctx, d.id); err == nil {
		fmt.Printf("PostgreSQL projection: status %s, version %d\n", row.Status, row.Version)
	}
	fmt.Printf("order to %s in %.1fs\nWeb UI: %s\n", st.Status, time.Since(d.started).Seconds(), link)
	return nil
}

// payees makes the vendor's and the buyer's receiving addresses: subaddresses of the funding
// wallet, standing in for their own wallets.
func (d *demo) payees(ctx context.Context) (vendor, buyer string, err error) {
	for _, dst := range []*string{&vendor, &buyer} {
		var res struct {
			Address string `json:"address"`
		}
		if err := d.chain.FunderClient.Call(ctx, "create_address", map[string]int{"account_index": 0}, &res); err != nil {
			return "", "", fmt.Errorf("payee address: %w", err)
		}
		*dst = res.Address
	}
	return vendor, buyer, nil
}

// until prints every change of the escrow's state until done says so.
func (d *demo) until(ctx context.Context, done func(escrow.State) bool) (escrow.State, error) {
	return d.s.Starter.WaitUntil(ctx, d.id, 200*time.Millisecond, func(st escrow.State) bool {
		d.show(st)
		return done(st)
	})
}

func (d *demo) print(ctx context.Context) {
	if st, err := d.s.Starter.Status(ctx, d.id); err == nil {
		d.show(st)
	}
}

func (d *demo) show(st escrow.State) {
	line := string(st.Status)
	switch {
	case st.Phase == escrow.PhaseExchanging:
		line = fmt.Sprintf("setting up: key exchange round %d/%d", st.Round, escrow.Rounds)
	case st.Phase != escrow.PhaseReady:
		line = "setting up: " + string(st.Phase)
	case st.Status == escrow.StatusAwaitingFunding && st.Funding.PendingAtomic > 0:
		line = fmt.Sprintf("awaiting funding: %s XMR seen, confirming", xmr(st.Funding.PendingAtomic))
	case st.Payout != nil && st.Payout.Submitted:
		line = fmt.Sprintf("%s: payout %.12s… has %d confirmations", st.Status, st.Payout.TxHash, st.Payout.Confirmations)
	}
	if line != d.last {
		fmt.Printf("%6.1fs  %s\n", time.Since(d.started).Seconds(), line)
		d.last = line
	}
}

func xmr(atomic uint64) string {
	return fmt.Sprintf("%d.%012d", atomic/1e12, atomic%1e12)
}
