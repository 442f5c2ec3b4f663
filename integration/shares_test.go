package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/starter"
)

// Money moves exactly as decided, on the real regtest chain: each address is checked with
// the payee's own wallet, to the piconero (escrow.Division states the rule).

// paidTo sums what the payee's wallet received at each address from the payout's transactions.
func (ms *moneyStack) paidTo(t *testing.T, ctx context.Context, p *escrow.Payout, addresses ...string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, a := range addresses {
		if got := ms.receivedBy(t, ctx, a, p.TxHashes); got > 0 {
			out[a] = got
		}
	}
	return out
}

// assertShares checks that the payout paid each address exactly the share the rule gives it,
// and that the payee wallet saw exactly those amounts arrive.
func (ms *moneyStack) assertShares(t *testing.T, ctx context.Context, p *escrow.Payout, want map[string]uint64) {
	t.Helper()
	require.NotNil(t, p)
	require.Equal(t, escrow.ExactShares, p.Rules)
	assert.Equal(t, want, escrow.ByAddress(p.Shares), "the shares the co-signer checked")
	addresses := []string{ms.vendor, ms.buyer}
	if ms.marketplace != "" {
		addresses = append(addresses, ms.marketplace)
	}
	assert.Equal(t, want, ms.paidTo(t, ctx, p, addresses...), "what each payee's wallet received")
	var sum uint64
	for _, v := range want {
		sum += v
	}
	assert.Equal(t, p.FundedAtomic, sum+p.FeeAtomic, "every piconero spent is someone's, or the fee")
}

// escrowWith starts an escrow paying the stack's payees, with timing and edits, and waits
// for Ready.
func (ms *moneyStack) escrowWith(t *testing.T, ctx context.Context, id string, timing escrow.Timing, edit func(*escrow.EscrowInput)) escrow.State {
	in := input(id, 0)
	in.AmountAtomic = price
	in.VendorPayoutAddress, in.BuyerRefundAddress = ms.vendor, ms.buyer
	in.Timing = timing
	if edit != nil {
		edit(&in)
	}
	_, err := ms.Starter.Start(ctx, in)
	require.NoError(t, err)
	st, err := ms.Starter.WaitReady(ctx, id)
	require.NoError(t, err)
	return st
}

// pay sends amount to the escrow and mines it deep enough to count.
func (ms *moneyStack) pay(t *testing.T, ctx context.Context, address string, amount uint64) {
	t.Helper()
	_, err := ms.chain.Pay(ctx, address, amount)
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 11))
}

// paidAndReleased pays the escrow, has the buyer confirm receipt and waits for completed.
func (ms *moneyStack) paidAndReleased(t *testing.T, ctx context.Context, id, address string, amount uint64) escrow.State {
	t.Helper()
	ms.pay(t, ctx, address, amount)
	ms.waitFor(t, ctx, id, "funded", func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
	_, err := ms.Starter.Decide(ctx, id, escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
	require.NoError(t, err)
	return ms.settle(t, ctx, id, escrow.StatusCompleted)
}

// TestADustOutputAfterFundingNeverBlocksTheRelease: 0.0000001 XMR, worth far less than the
// fee to spend it, lands on a funded escrow. The release pays the vendor the price less the
// fee, in one attempt, and lists the dust; the final status lists it too.
func TestADustOutputAfterFundingNeverBlocksTheRelease(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const id, dust = "dust-output", 100_000 // 0.0000001 XMR
	timing := quickTiming()
	timing.LateMoneyGrace = 20 * time.Second
	st := ms.escrowWith(t, ctx, id, timing, nil)
	ms.pay(t, ctx, st.Address, price)
	ms.waitFor(t, ctx, id, "funded", func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
	ms.pay(t, ctx, st.Address, dust)
	_, err := ms.Starter.Decide(ctx, id, escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
	require.NoError(t, err)
	st = ms.settle(t, ctx, id, escrow.StatusCompleted)
	ms.assertShares(t, ctx, st.Payout, map[string]uint64{ms.vendor: price - st.Payout.FeeAtomic})
	require.NotNil(t, st.Payout.Dust, "the dust is listed")
	assert.Equal(t, uint64(dust), st.Payout.Dust.AmountAtomic)
	assert.Equal(t, 1, st.Payout.Dust.Outputs)
	assert.Greater(t, st.Payout.Dust.BelowAtomic, uint64(dust))
	assert.Equal(t, 1, st.Payout.Attempts, "one attempt, not 158")
	assert.Zero(t, st.Payout.Parks)
	res, err := ms.Starter.Wait(ctx, id)
	require.NoError(t, err, "the dust does not keep the watch alive")
	require.NotNil(t, res.Leftover)
	assert.Equal(t, uint64(dust), res.Leftover.Dust.AmountAtomic)
	assert.Empty(t, res.Leftover.TimeLocked)
	saveHistory(t, ms.Stack, id, "dust-output")

	// An operator can watch the finished escrow's address again: a new run carries its state.
	_, err = ms.Starter.ResumeWatch(ctx, id, "ops-1", 10*time.Second)
	require.NoError(t, err)
	_, err = ms.Starter.ResumeWatch(ctx, id, "ops-1", 10*time.Second)
	assert.ErrorIs(t, err, starter.ErrStillRunning, "one watch at a time")
	res, err = ms.Starter.Wait(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, escrow.StatusCompleted, res.Status)
	require.NotNil(t, res.Leftover)
	assert.Equal(t, uint64(dust), res.Leftover.Dust.AmountAtomic, "the dust is still listed")
	st, err = ms.Starter.Status(ctx, id)
	require.NoError(t, err)
	last := st.Decisions[len(st.Decisions)-1]
	assert.Equal(t, escrow.UpdateResumeWatch, last.Update)
	assert.Equal(t, "ops-1", last.ActorID)
}

// TestPaymentsEveryFewBlocksDuringAReleaseCannotHoldItUp: new payments keep arriving while
// the release waits for money to settle. Past SettleWait it pays what was decided from what
// is spendable: the vendor gets exactly the price less the fee; what could be spent of the
// extra went to the buyer in the same payout, and the rest is late money.
func TestPaymentsEveryFewBlocksDuringAReleaseCannotHoldItUp(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const id, extra = "arriving", 20_000_000_000 // 0.02 XMR every few blocks
	timing := quickTiming()
	timing.SettleWait = 20 * time.Second
	st := ms.escrowWith(t, ctx, id, timing, nil)
	ms.pay(t, ctx, st.Address, price)
	ms.waitFor(t, ctx, id, "funded", func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
	stop := make(chan struct{})
	paid := make(chan int)
	go func() {
		n := 0
		defer func() { paid <- n }()
		for {
			if _, err := ms.chain.Pay(ctx, st.Address, extra); err == nil {
				n++
			}
			_ = ms.chain.Mine(ctx, 3)
			select {
			case <-stop:
				return
			case <-time.After(3 * time.Second):
			}
		}
	}()
	time.Sleep(8 * time.Second) // payments are confirming when the release is decided
	_, err := ms.Starter.Decide(ctx, id, escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
	require.NoError(t, err)
	decided := time.Now()
	st = ms.waitFor(t, ctx, id, "the payout submitted while payments keep coming", func(st escrow.State) bool {
		return st.Payout != nil && st.Payout.Submitted
	})
	close(stop)
	n := <-paid
	waited := time.Since(decided)
	t.Logf("submitted %.0fs after the decision, %d payments made", waited.Seconds(), n)
	assert.GreaterOrEqual(t, waited, timing.SettleWait, "it waited for the confirming payments a while")
	assert.Less(t, st.Payout.FundedAtomic, uint64(price+n*extra), "then paid without the ones still confirming")
	st = ms.settle(t, ctx, id, escrow.StatusCompleted)
	p := st.Payout
	want := map[string]uint64{ms.vendor: price - p.FeeAtomic}
	if p.FundedAtomic > price {
		want[ms.buyer] = p.FundedAtomic - price
	}
	ms.assertShares(t, ctx, p, want)
}

// TestAnOverpaymentOfTwiceThePriceGoesBackToTheBuyer: the buyer pays 6 XMR for 3 and
// confirms receipt. The vendor gets the price less the fee, the buyer 3 XMR back, to the
// piconero, in the same payout.
func TestAnOverpaymentOfTwiceThePriceGoesBackToTheBuyer(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const id = "overpaid"
	st := ms.escrowWith(t, ctx, id, quickTiming(), nil)
	ms.pay(t, ctx, st.Address, 2*price)
	st = ms.waitFor(t, ctx, id, "funded", func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
	assert.Equal(t, uint64(price), st.Funding.OverpaidAtomic)
	_, err := ms.Starter.Decide(ctx, id, escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
	require.NoError(t, err)
	st = ms.settle(t, ctx, id, escrow.StatusCompleted)
	ms.assertShares(t, ctx, st.Payout, map[string]uint64{ms.vendor: price - st.Payout.FeeAtomic, ms.buyer: price})
	assert.Equal(t, uint64(2*price), st.Payout.FundedAtomic)
	saveHistory(t, ms.Stack, id, "overpaid")
}

// TestASplitWithACommissionPaysEachAddressExactly: the escrow carries a 2 % commission; the
// arbiter resolves a dispute 70/30. The marketplace gets 2 % of the vendor's 70 %, the vendor
// the rest of its 70 % less the fee, the buyer its 30 % whole.
func TestASplitWithACommissionPaysEachAddressExactly(t *testing.T) {
	ms := startMoneyStack(t)
	ms.marketplace = ms.newPayee(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const id, vendorPart = "split", price * 7 / 10
	st := ms.escrowWith(t, ctx, id, quickTiming(), func(in *escrow.EscrowInput) {
		in.Commission = &escrow.Commission{BasisPoints: 200, Address: ms.marketplace}
	})
	require.NotNil(t, st.Commission, "the commission is shown in the status")
	ms.pay(t, ctx, st.Address, price)
	ms.waitFor(t, ctx, id, "funded", func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
	open := decision(escrow.Buyer)
	open.Reason = "a third of the order is missing"
	_, err := ms.Starter.Decide(ctx, id, escrow.UpdateOpenDispute, open)
	require.NoError(t, err)
	resolve := decision(escrow.Arbiter)
	resolve.VendorAtomic = vendorPart
	st, err = ms.Starter.Decide(ctx, id, escrow.UpdateResolveDispute, resolve)
	require.NoError(t, err)
	assert.Equal(t, escrow.PayoutSplit, st.Payout.Kind)
	st = ms.settle(t, ctx, id, escrow.StatusCompleted)
	const cut = vendorPart * 200 / 10_000
	ms.assertShares(t, ctx, st.Payout, map[string]uint64{
		ms.vendor: vendorPart - cut - st.Payout.FeeAtomic, ms.marketplace: cut, ms.buyer: price - vendorPart,
	})
	saveHistory(t, ms.Stack, id, "split-commission")
}

// TestAPaymentLockedPastTheGraceStartIsRefundedWhenItUnlocks: after the release, the
// escrow's address is paid with outputs locked for 60 blocks (a coinbase: since 0.18.3.4 only
// whoever mines can make a time-locked payment). It is refunded to the buyer once it
// unlocks, inside the grace period.
func TestAPaymentLockedPastTheGraceStartIsRefundedWhenItUnlocks(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const id = "unlocks-later"
	st := ms.escrowWith(t, ctx, id, quickTiming(), nil)
	ms.paidAndReleased(t, ctx, id, st.Address, price)
	locked, err := ms.chain.PayTimeLocked(ctx, st.Address)
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 30))
	time.Sleep(3 * time.Second)
	st, err = ms.Starter.Status(ctx, id)
	require.NoError(t, err)
	assert.Nil(t, st.LateRefund, "still locked for 30 blocks: nothing to refund yet")
	for range 4 { // past its unlock, and the refund's confirmations
		require.NoError(t, ms.chain.Mine(ctx, 11))
		time.Sleep(2 * time.Second)
	}
	st = ms.waitFor(t, ctx, id, "the unlocked payment refunded", func(st escrow.State) bool {
		return st.LateRefund != nil && st.LateRefund.Submitted || len(st.LateRefunds) > 0
	})
	require.NoError(t, ms.chain.Mine(ctx, 11))
	st = ms.waitFor(t, ctx, id, "the refund confirmed", func(st escrow.State) bool { return len(st.LateRefunds) == 1 })
	r := &st.LateRefunds[0]
	assert.Equal(t, locked.Amount, r.FundedAtomic, "the whole coinbase, once it unlocked")
	ms.assertShares(t, ctx, r, map[string]uint64{ms.buyer: locked.Amount - r.FeeAtomic})
	saveHistory(t, ms.Stack, id, "late-locked-refund")
}

// TestAPaymentInTheLastMinuteOfAShortGraceIsRefunded: the watch backs off, but its last
// sleep ends at the grace period's end, and the last look refunds a payment that arrived in
// its last minute.
func TestAPaymentInTheLastMinuteOfAShortGraceIsRefunded(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const id, late = "last-minute", 300_000_000_000 // 0.3 XMR
	timing := quickTiming()
	timing.LateMoneyGrace, timing.LatePoll, timing.LatePollMax = 2*time.Minute, time.Minute, time.Hour
	st := ms.escrowWith(t, ctx, id, timing, nil)
	st = ms.paidAndReleased(t, ctx, id, st.Address, price)
	require.False(t, st.WatchUntil.IsZero())
	time.Sleep(time.Until(st.WatchUntil.Add(-45 * time.Second)))
	ms.pay(t, ctx, st.Address, late)
	st = ms.waitFor(t, ctx, id, "the last look's refund submitted", func(st escrow.State) bool {
		return st.LateRefund != nil && st.LateRefund.Submitted
	})
	require.NoError(t, ms.chain.Mine(ctx, 11))
	res, err := ms.Starter.Wait(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, escrow.StatusCompleted, res.Status)
	st, err = ms.Starter.Status(ctx, id)
	require.NoError(t, err)
	require.Len(t, st.LateRefunds, 1)
	ms.assertShares(t, ctx, &st.LateRefunds[0], map[string]uint64{ms.buyer: late - st.LateRefunds[0].FeeAtomic})
}
