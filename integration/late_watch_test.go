package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
)

// TestAfterFundingTheWatcherBringsThePayoutAndTheLateMoney: on the real stack, with every
// poll after funding an hour apart, the release is confirmed through the watcher's report of
// its depth, and a late payment in the grace period is noticed through the watcher's sighting
// and refunded within a few blocks, not at the next poll. The late watch takes over the
// funding wait's registration and, the watcher's records vouching for the address, asks no
// wallet when it starts.
func TestAfterFundingTheWatcherBringsThePayoutAndTheLateMoney(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const id = "late-watched"
	const late = 500_000_000_000 // 0.5 XMR
	timing := quickTiming()
	timing.PayoutWatchedPoll, timing.LatePollMax, timing.LateWatchedPollMax = time.Hour, time.Hour, time.Hour
	timing.LatePoll = 2 * time.Second // only while a payment is confirming
	st := ms.readyEscrow(t, ctx, id, timing)
	_, err := ms.chain.Pay(ctx, st.Address, price)
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 11))
	ms.waitFor(t, ctx, id, "funded", func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
	_, err = ms.Starter.Decide(ctx, id, escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
	require.NoError(t, err)
	st = ms.settle(t, ctx, id, escrow.StatusCompleted)
	f := st.Payout.Follow
	require.NotNil(t, f)
	require.True(t, f.Following, "the watcher follows the release: %s", f.Failed)
	assert.Positive(t, f.Signals, "confirmed through the watcher's reports")

	st = ms.waitFor(t, ctx, id, "registered for the grace", func(st escrow.State) bool {
		return st.LateWatch != nil && (st.LateWatch.Registered || st.LateWatch.Failed != "")
	})
	require.True(t, st.LateWatch.Registered, "registered for the grace: %s", st.LateWatch.Failed)
	assert.True(t, st.LateWatch.Adopted, "the funding wait's registration, kept through the payout")
	assert.True(t, st.LateWatch.HealthNet)
	first, stop := context.WithTimeout(ctx, 30*time.Second)
	st, err = ms.Starter.WaitUntil(first, id, 500*time.Millisecond, func(st escrow.State) bool { return st.LateWatch.Vouched > 0 })
	stop()
	require.NoError(t, err, "the watcher's records vouch for the address when the watch starts: no start check")

	paidAt := time.Now()
	_, err = ms.chain.Pay(ctx, st.Address, late)
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 11))
	st = ms.waitFor(t, ctx, id, "the late refund submitted", func(st escrow.State) bool {
		return st.LateRefund != nil && st.LateRefund.Submitted
	})
	assert.Less(t, time.Since(paidAt), 5*time.Minute, "noticed through the watcher, not the hourly poll")
	assert.Positive(t, st.LateWatch.Signals, "the watcher told the escrow")
	require.NoError(t, ms.chain.Mine(ctx, 11))
	st = ms.waitFor(t, ctx, id, "the late refund confirmed", func(st escrow.State) bool { return len(st.LateRefunds) == 1 })
	assert.Equal(t, escrow.StatusCompleted, st.Status)
	ms.assertSwept(t, ctx, &st.LateRefunds[0], ms.buyer, late)
	saveHistory(t, ms.Stack, id, "late-adopted")
}

// flushPool drops the given transactions from monerod's pool (flush_txpool).
func flushPool(t *testing.T, ctx context.Context, c *devstack.Chain, txids []string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "0", "method": "flush_txpool", "params": map[string]any{"txids": txids}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.Daemon.Address+"/json_rpc", bytes.NewReader(body))
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out struct {
		Result struct {
			Status string `json:"status"`
		} `json:"result"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	require.Equal(t, "OK", out.Result.Status, "flush_txpool")
}

// TestAReleaseAReorgUndidAfterCompletionIsPaidAgain: a completed release's blocks are popped
// and the release dropped from the pool, as a reorg to a branch without it would leave it. The
// watcher reports it gone, the escrow's wallet agrees, and the escrow pays the vendor again
// within its grace period.
func TestAReleaseAReorgUndidAfterCompletionIsPaidAgain(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const id = "undone"
	timing := quickTiming()
	timing.PayoutWatchedPoll, timing.LatePollMax, timing.LateWatchedPollMax = time.Hour, time.Hour, time.Hour
	st := ms.readyEscrow(t, ctx, id, timing)
	_, err := ms.chain.Pay(ctx, st.Address, price)
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 11))
	ms.waitFor(t, ctx, id, "funded", func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
	_, err = ms.Starter.Decide(ctx, id, escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
	require.NoError(t, err)
	st = ms.settle(t, ctx, id, escrow.StatusCompleted)
	first := st.Payout.TxHashes
	ms.waitFor(t, ctx, id, "registered for the grace", func(st escrow.State) bool { return st.LateWatch != nil })

	popBlocks(t, ctx, ms.chain, 11) // the release's block and the ten above it
	flushPool(t, ctx, ms.chain, first)
	require.NoError(t, ms.chain.Mine(ctx, 1))
	st = ms.waitFor(t, ctx, id, "the release submitted again", func(st escrow.State) bool {
		return st.Payout.Follow != nil && st.Payout.Follow.Undone == 1 && st.Payout.Submitted
	})
	assert.NotEqual(t, first, st.Payout.TxHashes)
	st = ms.settle(t, ctx, id, escrow.StatusCompleted)
	assert.Contains(t, st.Payout.Earlier, first, "the undone release is kept")
	ms.assertShares(t, ctx, st.Payout, map[string]uint64{ms.vendor: price - st.Payout.FeeAtomic})
	saveHistory(t, ms.Stack, id, "payout-reorged")
}
