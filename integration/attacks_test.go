package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// The attacks and faults of a hostile or unlucky payment, each on the real regtest chain.
// None may leave money in a multisig that no workflow watches.

// quickTiming polls every second, so a test sees each step as soon as its blocks are mined.
func quickTiming() escrow.Timing {
	return escrow.Timing{FundingPoll: time.Second, FundingPollMax: 2 * time.Second, PayoutPoll: time.Second,
		PayoutRetry: 2 * time.Second, PayoutRetryMax: 4 * time.Second, LatePoll: time.Second, LatePollMax: 2 * time.Second,
		LateMoneyGrace: 10 * time.Minute}
}

// readyEscrow starts an escrow paying to the stack's payee addresses and waits for Ready.
func (ms *moneyStack) readyEscrow(t *testing.T, ctx context.Context, id string, timing escrow.Timing) escrow.State {
	in := input(id, 0)
	in.AmountAtomic = price
	in.VendorPayoutAddress, in.BuyerRefundAddress = ms.vendor, ms.buyer
	in.Timing = timing
	_, err := ms.Starter.Start(ctx, in)
	require.NoError(t, err)
	st, err := ms.Starter.WaitReady(ctx, id)
	require.NoError(t, err)
	return st
}

// waitFor polls the escrow's status until done holds.
func (ms *moneyStack) waitFor(t *testing.T, ctx context.Context, id, what string, done func(escrow.State) bool) escrow.State {
	t.Helper()
	st, err := ms.Starter.WaitUntil(ctx, id, 500*time.Millisecond, done)
	require.NoError(t, err, "waiting for %s: %s", id, what)
	return st
}

// receivedBy sums what the payee's wallet got at address from the given transactions.
func (ms *moneyStack) receivedBy(t *testing.T, ctx context.Context, address string, txs []string) uint64 {
	t.Helper()
	_, err := ms.chain.FunderClient.Refresh(ctx, walletrpc.RefreshRequest{})
	require.NoError(t, err)
	var sum uint64
	for _, tx := range txs {
		got, err := ms.chain.FunderClient.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: tx})
		require.NoError(t, err, "the payee's wallet knows %s", tx)
		for _, tr := range got.Transfers {
			if tr.Type == walletrpc.TransferTypeIn && tr.Address == address {
				sum += tr.Amount
			}
		}
	}
	return sum
}

// assertSwept checks that payout took everything the escrow held, total, to address, and
// that the payee's wallet received what the payout says.
func (ms *moneyStack) assertSwept(t *testing.T, ctx context.Context, p *escrow.Payout, address string, total uint64) {
	t.Helper()
	require.NotNil(t, p)
	assert.Equal(t, address, p.Address)
	assert.Equal(t, total, p.AmountAtomic+p.FeeAtomic, "all of it leaves, minus the fees")
	assert.Equal(t, p.AmountAtomic, ms.receivedBy(t, ctx, address, p.TxHashes), "the payee received it")
}

// incomingTo lists the confirmed incoming transfers of the payee's wallet at address.
func (ms *moneyStack) incomingTo(t *testing.T, ctx context.Context, address string) []walletrpc.Transfer {
	t.Helper()
	_, err := ms.chain.FunderClient.Refresh(ctx, walletrpc.RefreshRequest{})
	require.NoError(t, err)
	res, err := ms.chain.FunderClient.GetTransfers(ctx, walletrpc.GetTransfersRequest{In: true})
	require.NoError(t, err)
	var out []walletrpc.Transfer
	for _, tr := range res.In {
		if tr.Address == address {
			out = append(out, tr)
		}
	}
	return out
}

// TestATimeLockedPaymentNeverCountsAsFunding: the escrow's address is paid with outputs
// locked far beyond the normal lock: a coinbase, locked for 60 blocks (since 0.18.3.4 no
// wallet sends a time-locked transfer, so whoever mines is the only one who can). It is
// shown, never counted; the escrow waits for a real payment, and the release pays out
// exactly that.
func TestATimeLockedPaymentNeverCountsAsFunding(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const id = "timelock"
	st := ms.readyEscrow(t, ctx, id, quickTiming())
	// It would count 50 blocks on, within the normal lock of unlocking; the payout below comes 22 blocks on.
	locked, err := ms.chain.PayTimeLocked(ctx, st.Address)
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 11))
	st = ms.waitFor(t, ctx, id, "the time-locked payment shown", func(st escrow.State) bool { return st.Funding.TimeLockedAtomic == locked.Amount })
	assert.Equal(t, escrow.StatusAwaitingFunding, st.Status, "a time-locked payment does not fund the escrow")
	assert.Zero(t, st.Funding.ConfirmedAtomic)
	require.Len(t, st.Funding.TimeLocked, 1)
	assert.Equal(t, locked.TxID, st.Funding.TimeLocked[0].TxID)
	assert.Equal(t, locked.UnlockTime, st.Funding.TimeLocked[0].UnlockTime)

	_, err = ms.chain.Pay(ctx, st.Address, price)
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 11))
	st = ms.waitFor(t, ctx, id, "funded by the spendable payment", func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
	assert.Equal(t, uint64(price), st.Funding.ConfirmedAtomic, "only the spendable payment counts")
	assert.Equal(t, locked.Amount, st.Funding.TimeLockedAtomic)

	_, err = ms.Starter.Decide(ctx, id, escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
	require.NoError(t, err)
	st = ms.settle(t, ctx, id, escrow.StatusCompleted)
	assert.Equal(t, uint64(price), st.Payout.FundedAtomic, "the sweep takes what can be spent, the co-signer checks it")
	assert.Equal(t, st.Payout.AmountAtomic, ms.receivedBy(t, ctx, ms.vendor, st.Payout.TxHashes))
}

// TestACancelRightAfterAConfirmedPaymentRefunds: the payment confirms and the cancel comes
// before the backed-off poll would have seen it. The cancel looks again and refunds.
func TestACancelRightAfterAConfirmedPaymentRefunds(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const id = "cancel-paid"
	timing := quickTiming()
	timing.FundingPoll, timing.FundingPollMax = 10*time.Minute, 10*time.Minute // the next poll is far away
	st := ms.readyEscrow(t, ctx, id, timing)
	_, err := ms.chain.Pay(ctx, st.Address, price)
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 11))
	st, err = ms.Starter.Decide(ctx, id, escrow.UpdateCancel, decision(escrow.Buyer))
	require.NoError(t, err)
	assert.Equal(t, escrow.StatusRefunding, st.Status, "the cancel decided on a fresh check: refund, not cancelled")
	assert.Equal(t, uint64(price), st.Funding.ConfirmedAtomic)
	st = ms.settle(t, ctx, id, escrow.StatusRefunded)
	ms.assertSwept(t, ctx, st.Payout, ms.buyer, price)
	saveHistory(t, ms.Stack, id, "cancel-after-payment")
}

// TestTheDeadlineWithAPaymentStillConfirmingRefunds: the deadline passes while the buyer's
// payment has two confirmations. The escrow is called off and the payment goes back once it
// unlocks; nothing is left in the multisig.
func TestTheDeadlineWithAPaymentStillConfirmingRefunds(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const id = "deadline"
	timing := quickTiming()
	timing.FundingDeadline = 20 * time.Second
	st := ms.readyEscrow(t, ctx, id, timing)
	_, err := ms.chain.Pay(ctx, st.Address, price)
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 2))
	st = ms.waitFor(t, ctx, id, "the deadline's refund decision", func(st escrow.State) bool { return st.Status == escrow.StatusRefunding })
	assert.Equal(t, "funding deadline passed", st.Reason)
	require.NoError(t, ms.chain.Mine(ctx, 10)) // the payment unlocks; the payout waited for it
	st = ms.settle(t, ctx, id, escrow.StatusRefunded)
	ms.assertSwept(t, ctx, st.Payout, ms.buyer, price)
}

// TestALatePaymentAfterCompletionIsRefunded: the buyer pays again after the release. The
// escrow, still watching its address, refunds the late money to the buyer.
func TestALatePaymentAfterCompletionIsRefunded(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const id = "late"
	const late = 500_000_000_000 // 0.5 XMR
	st := ms.readyEscrow(t, ctx, id, quickTiming())
	_, err := ms.chain.Pay(ctx, st.Address, price)
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 11))
	ms.waitFor(t, ctx, id, "funded", func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
	_, err = ms.Starter.Decide(ctx, id, escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
	require.NoError(t, err)
	st = ms.settle(t, ctx, id, escrow.StatusCompleted)
	assert.False(t, st.WatchUntil.IsZero(), "a completed escrow keeps watching its address")

	_, err = ms.chain.Pay(ctx, st.Address, late)
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 11))
	st = ms.waitFor(t, ctx, id, "the late refund submitted", func(st escrow.State) bool {
		return st.LateRefund != nil && st.LateRefund.Submitted
	})
	require.NoError(t, ms.chain.Mine(ctx, 11))
	st = ms.waitFor(t, ctx, id, "the late refund confirmed", func(st escrow.State) bool { return len(st.LateRefunds) == 1 })
	assert.Equal(t, escrow.StatusCompleted, st.Status, "the escrow's outcome is still the release")
	ms.assertSwept(t, ctx, &st.LateRefunds[0], ms.buyer, late)
	saveHistory(t, ms.Stack, id, "late-refund")
}

// TestADustAttackDuringAReleaseStillPaysOut: someone sends 30 small payments while the
// release is under way. Each one makes the signers' state stale or adds a locked output;
// the payout waits (SettleWait at most), syncs again, and pays the vendor exactly the price
// less the fee; what of the rest could be spent goes back to the buyer in the same payout,
// outputs below the fee of spending them are listed as dust, and nothing is lost.
func TestADustAttackDuringAReleaseStillPaysOut(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	const id = "dust"
	const dust = 1_000_000_000 // 0.001 XMR
	ms.fundedEscrow(t, ctx, id)
	st, err := ms.Starter.Status(ctx, id)
	require.NoError(t, err)
	amounts := make([]uint64, 30)
	for i := range amounts {
		amounts[i] = dust
	}
	_, err = ms.chain.PayEach(ctx, st.Address, amounts[:15])
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 1))
	_, err = ms.Starter.Decide(ctx, id, escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
	require.NoError(t, err)
	_, err = ms.chain.PayEach(ctx, st.Address, amounts[15:])
	require.NoError(t, err)
	for i := 0; i < 4; i++ { // blocks arrive while the payout waits and syncs
		require.NoError(t, ms.chain.Mine(ctx, 3))
		time.Sleep(2 * time.Second)
	}
	st = ms.settle(t, ctx, id, escrow.StatusCompleted)
	p := st.Payout
	want := map[string]uint64{ms.vendor: price - p.FeeAtomic}
	if p.FundedAtomic > price {
		want[ms.buyer] = p.FundedAtomic - price
	}
	ms.assertShares(t, ctx, p, want)
	var left uint64
	if p.Dust != nil {
		left = p.Dust.AmountAtomic
	}
	assert.LessOrEqual(t, p.FundedAtomic+left, uint64(price+30*dust), "nothing counted twice")
	t.Logf("dust attack: %d attempts, %d transactions, fee %d, spent %d, dust %+v", p.Attempts, len(p.TxHashes), p.FeeAtomic, p.FundedAtomic, p.Dust)
}
