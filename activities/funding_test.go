package activities

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

func TestCountsAsFunding(t *testing.T) {
	const ts = 1_700_000_000
	for _, tc := range []struct {
		name   string
		t      walletrpc.Transfer
		height uint64
		want   bool
	}{
		{"no unlock_time", walletrpc.Transfer{Height: 100}, 0, true},
		{"height within the normal lock", walletrpc.Transfer{Height: 100, UnlockTime: 110}, 0, true},
		{"height one past the normal lock", walletrpc.Transfer{Height: 100, UnlockTime: 111}, 0, false},
		{"height far in the future", walletrpc.Transfer{Height: 100, UnlockTime: 499_999_999}, 0, false},
		{"pool: judged at the wallet height", walletrpc.Transfer{UnlockTime: 1010}, 1000, true},
		{"pool: one past the wallet height's lock", walletrpc.Transfer{UnlockTime: 1011}, 1000, false},
		{"locked past the lock when mined", walletrpc.Transfer{Height: 100, UnlockTime: 1010}, 999, false},
		{"counts once the chain is within the lock of its unlock", walletrpc.Transfer{Height: 100, UnlockTime: 1010}, 1000, true},
		{"counts once it has unlocked", walletrpc.Transfer{Height: 100, UnlockTime: 1010}, 5000, true},
		{"time within the normal lock", walletrpc.Transfer{Height: 100, Timestamp: ts, UnlockTime: ts + 1200}, 0, true},
		{"time one second past it", walletrpc.Transfer{Height: 100, Timestamp: ts, UnlockTime: ts + 1201}, 0, false},
		{"smallest Unix time is a time", walletrpc.Transfer{Height: 600_000_000, Timestamp: ts, UnlockTime: 500_000_000}, 0, true},
		{"a time far in the future", walletrpc.Transfer{Height: 100, Timestamp: ts, UnlockTime: 4_000_000_000}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, countsAsFunding(tc.t, tc.height, time.Unix(ts-3600, 0)))
		})
	}
	// A time lock counts once the clock is within the normal lock of it.
	locked := walletrpc.Transfer{Height: 100, Timestamp: ts, UnlockTime: ts + 1e6}
	assert.False(t, countsAsFunding(locked, 0, time.Unix(ts, 0)))
	assert.True(t, countsAsFunding(locked, 0, time.Unix(ts+1e6-1200, 0)))
}

func TestTimeLockedPaymentNeverCountsAsFunding(t *testing.T) {
	ts := uint64(time.Now().Unix())
	tw := newTestWallet(t)
	tw.fake.answer(walletrpc.MethodGetHeight, walletrpc.GetHeightResult{Height: 1000})
	tw.fake.answer(walletrpc.MethodGetTransfers, walletrpc.GetTransfersResult{
		In: []walletrpc.Transfer{
			{TxID: "normal", Amount: 100, Height: 990, Confirmations: 10, Timestamp: ts},
			{TxID: "height-locked", Amount: 7, Height: 990, Confirmations: 10, Timestamp: ts, UnlockTime: 990 + 100_000, Locked: true},
			{TxID: "time-locked", Amount: 5, Height: 995, Confirmations: 5, Timestamp: ts, UnlockTime: ts + 365*24*3600, Locked: true},
		},
		Pool: []walletrpc.Transfer{
			{TxID: "pool", Amount: 3, Timestamp: ts},
			{TxID: "pool-locked", Amount: 2, Timestamp: ts, UnlockTime: 1011},
		},
	})
	var out FundingResult
	require.NoError(t, tw.exec(tw.w.CheckFunding, FundingInput{EscrowID: testEscrowID, Role: escrow.Arbiter, MinConfirmations: 10}, &out))
	assert.Equal(t, uint64(100), out.ConfirmedAtomic)
	assert.Equal(t, uint64(3), out.PendingAtomic)
	assert.Equal(t, []string{"normal", "pool"}, out.TxIDs)
	assert.Equal(t, uint64(14), out.TimeLockedAtomic)
	assert.Equal(t, []escrow.TimeLockedPayment{
		{TxID: "height-locked", AmountAtomic: 7, UnlockTime: 990 + 100_000},
		{TxID: "time-locked", AmountAtomic: 5, UnlockTime: ts + 365*24*3600},
		{TxID: "pool-locked", AmountAtomic: 2, UnlockTime: 1011},
	}, out.TimeLocked)
	assert.Equal(t, 5, out.Payments)
	assert.Equal(t, uint64(1000), out.Height)
}

func TestFundingStateStaysBoundedUnderADustFlood(t *testing.T) {
	var res walletrpc.GetTransfersResult
	for i := range 200 {
		res.In = append(res.In, walletrpc.Transfer{TxID: fmt.Sprint("dust", i), Amount: 1, Height: 10, Confirmations: 20})
		res.Pool = append(res.Pool, walletrpc.Transfer{TxID: fmt.Sprint("locked", i), Amount: 2, UnlockTime: 1 << 40})
	}
	out := sumFunding(res, 30, 10, time.Now())
	assert.Equal(t, uint64(200), out.ConfirmedAtomic)
	assert.Len(t, out.TxIDs, escrow.MaxFundingTxIDs)
	assert.Equal(t, uint64(400), out.TimeLockedAtomic, "every time-locked payment is summed")
	assert.Len(t, out.TimeLocked, escrow.MaxTimeLocked)
	assert.Equal(t, 400, out.Payments)
}

func TestSpendableBalanceReportsTimeLockedFunds(t *testing.T) {
	ts := uint64(time.Now().Unix())
	tw := newTestWallet(t)
	tw.fake.answer(walletrpc.MethodGetBalance, walletrpc.GetBalanceResult{Balance: 130, UnlockedBalance: 100})
	tw.fake.answer(walletrpc.MethodGetHeight, walletrpc.GetHeightResult{Height: 100})
	tw.fake.answer(walletrpc.MethodIncomingTransfers, walletrpc.IncomingTransfersResult{})
	tw.fake.answer(walletrpc.MethodGetTransfers, walletrpc.GetTransfersResult{In: []walletrpc.Transfer{
		{TxID: "normal", Amount: 100, Height: 10},
		{TxID: "young", Amount: 20, Height: 95, Locked: true},
		{TxID: "time-locked", Amount: 7, Height: 20, Timestamp: ts, UnlockTime: ts + 1e6, Locked: true},
		{TxID: "height-locked", Amount: 3, Height: 20, UnlockTime: 50_000, Locked: true},
		{TxID: "expired-lock", Amount: 40, Height: 20, UnlockTime: 60, Locked: false},
	}})
	var out BalanceResult
	require.NoError(t, tw.exec(tw.w.SpendableBalance, WalletInput{EscrowID: testEscrowID, Role: escrow.Arbiter}, &out))
	assert.Equal(t, uint64(10), out.TimeLockedAtomic)
	assert.Equal(t, uint64(100), out.UnlockedAtomic)
	assert.Equal(t, uint64(130), out.TotalAtomic)
	assert.Contains(t, tw.fake.called(), walletrpc.MethodRefresh, "an unsynced look refreshes first")

	// Right after the signers' sync the wallet is read as the export's refresh left it: a
	// block seen only now would make it disagree with what the signers exchanged.
	before := len(tw.fake.called())
	var synced BalanceResult
	require.NoError(t, tw.exec(tw.w.SpendableBalance, WalletInput{EscrowID: testEscrowID, Role: escrow.Arbiter, Synced: true}, &synced))
	assert.NotContains(t, tw.fake.since(before), walletrpc.MethodRefresh)
	out.Opens = 0 // the first look opened the wallet; it stays open
	assert.Equal(t, out, synced)
}
