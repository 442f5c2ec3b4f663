package integration

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/localstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// One regtest chain serves every money test of this package: mining the ~300 blocks that
// make transfers possible is the slow part.
var (
	chainOnce sync.Once
	chain     *devstack.Chain
	chainErr  error
	chainDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if chain != nil {
		_ = chain.Stop()
	}
	if chainDir != "" {
		_ = os.RemoveAll(chainDir)
	}
	os.Exit(code)
}

func regtest(t testing.TB) *devstack.Chain {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs a real monerod --regtest (drop -short to run it)")
	}
	chainOnce.Do(func() {
		if chainDir, chainErr = os.MkdirTemp("", "xmr-escrow-chain-"); chainErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		started := time.Now()
		chain, chainErr = devstack.StartChain(ctx, chainDir, devstack.SpendableBlocks)
		t.Logf("regtest chain with %d blocks ready in %.1fs", devstack.SpendableBlocks, time.Since(started).Seconds())
	})
	require.NoError(t, chainErr, "start monerod --regtest (make test installs monero)")
	return chain
}

// moneyStack is a local stack whose wallet-rpc pool talks to the regtest daemon, plus two
// payee addresses: subaddresses of the funder's wallet, standing in for the vendor's and
// the buyer's own wallets.
type moneyStack struct {
	*localstack.Stack
	chain         *devstack.Chain
	vendor, buyer string
	// marketplace, when a test sets it, receives commissions.
	marketplace string
}

func startMoneyStack(t *testing.T) *moneyStack {
	c := regtest(t)
	s := startStackWith(t, stackOptions{rpcs: 3, chain: c})
	ms := &moneyStack{Stack: s, chain: c}
	ms.vendor, ms.buyer = payeeAddresses(t, c)
	return ms
}

// payeeAddresses makes two fresh subaddresses of the funder's wallet, one for the vendor
// and one for the buyer, so each test can count exactly what its escrow paid out.
func payeeAddresses(t *testing.T, c *devstack.Chain) (vendor, buyer string) {
	return newPayee(t, c), newPayee(t, c)
}

// newPayee makes a fresh subaddress of the funder's wallet to pay a party at.
func newPayee(t testing.TB, c *devstack.Chain) string {
	var res struct {
		Address string `json:"address"`
	}
	require.NoError(t, c.FunderClient.Call(context.Background(), "create_address", map[string]int{"account_index": 0}, &res))
	return res.Address
}

// newPayee makes a fresh payee address on the stack's chain.
func (ms *moneyStack) newPayee(t *testing.T) string { return newPayee(t, ms.chain) }

const price = 3_000_000_000_000 // 3 XMR

// fundedEscrow starts an escrow, pays it from the funder and mines it deep enough.
func (ms *moneyStack) fundedEscrow(t *testing.T, ctx context.Context, id string) escrow.State {
	in := input(id, 0)
	in.AmountAtomic = price
	in.VendorPayoutAddress, in.BuyerRefundAddress = ms.vendor, ms.buyer
	in.Timing = quickTiming()
	started := time.Now()
	_, err := ms.Starter.Start(ctx, in)
	require.NoError(t, err)
	st, err := ms.Starter.WaitReady(ctx, id)
	require.NoError(t, err)
	_, err = ms.chain.Pay(ctx, st.Address, price)
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 11))
	st, err = ms.Starter.WaitUntil(ctx, id, 500*time.Millisecond, func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
	require.NoError(t, err)
	assert.Equal(t, uint64(price), st.Funding.ConfirmedAtomic)
	t.Logf("%s: order to funded in %.1fs", id, time.Since(started).Seconds())
	return st
}

// settle mines the submitted payout deep enough and waits for the final status.
func (ms *moneyStack) settle(t *testing.T, ctx context.Context, id string, final escrow.Status) escrow.State {
	started := time.Now()
	_, err := ms.Starter.WaitUntil(ctx, id, 500*time.Millisecond, func(st escrow.State) bool {
		return st.Payout != nil && st.Payout.Submitted
	})
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 11))
	st, err := ms.Starter.WaitUntil(ctx, id, 500*time.Millisecond, func(st escrow.State) bool { return st.Status == final })
	require.NoError(t, err)
	t.Logf("%s: decision to %s in %.1fs", id, final, time.Since(started).Seconds())
	return st
}

// assertReceived checks with the payee's wallet that the payout arrived: the whole
// escrowed amount minus the fee, at the decided address.
func (ms *moneyStack) assertReceived(t *testing.T, ctx context.Context, st escrow.State, address string) {
	p := st.Payout
	require.NotNil(t, p)
	assert.Equal(t, address, p.Address)
	assert.Equal(t, uint64(price), p.AmountAtomic+p.FeeAtomic, "everything escrowed leaves, minus the fee")
	assert.Positive(t, p.FeeAtomic)
	_, err := ms.chain.FunderClient.Refresh(ctx, walletrpc.RefreshRequest{})
	require.NoError(t, err)
	got, err := ms.chain.FunderClient.GetTransferByTxID(ctx, walletrpc.GetTransferByTxIDRequest{TxID: p.TxHash})
	require.NoError(t, err, "the payee's wallet knows the payout")
	assert.Equal(t, "in", got.Transfer.Type)
	assert.Equal(t, address, got.Transfer.Address)
	assert.Equal(t, p.AmountAtomic, got.Transfer.Amount)
	assert.GreaterOrEqual(t, got.Transfer.Confirmations, uint64(10))
}

func decision(role escrow.Role) escrow.DecisionInput {
	ids := map[escrow.Role]string{escrow.Buyer: "buyer-7", escrow.Vendor: "vendor-8", escrow.Arbiter: "arbiter-9"}
	return escrow.DecisionInput{Role: role, ActorID: ids[role]}
}

func TestReleaseOnARealChain(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	started := time.Now()
	ms.fundedEscrow(t, ctx, "release")
	_, err := ms.Starter.Decide(ctx, "release", escrow.UpdateMarkShipped, decision(escrow.Vendor))
	require.NoError(t, err)
	_, err = ms.Starter.Decide(ctx, "release", escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
	require.NoError(t, err)
	_, err = ms.Starter.Decide(ctx, "release", escrow.UpdateAgreeRefund, decision(escrow.Vendor))
	assert.ErrorContains(t, err, "no decision can follow", "a second decision after a final one")
	st := ms.settle(t, ctx, "release", escrow.StatusCompleted)
	ms.assertReceived(t, ctx, st, ms.vendor)
	saveHistory(t, ms.Stack, "release", "release")
	t.Logf("release path: %.1fs from order to completed", time.Since(started).Seconds())
}

func TestRefundOnARealChain(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	started := time.Now()
	ms.fundedEscrow(t, ctx, "refund")
	_, err := ms.Starter.Decide(ctx, "refund", escrow.UpdateAgreeRefund, decision(escrow.Vendor))
	require.NoError(t, err)
	st := ms.settle(t, ctx, "refund", escrow.StatusRefunded)
	ms.assertReceived(t, ctx, st, ms.buyer)
	assert.Equal(t, []escrow.Role{escrow.Vendor, escrow.Buyer}, st.Payout.Signers)
	saveHistory(t, ms.Stack, "refund", "refund")
	t.Logf("refund path: %.1fs from order to refunded", time.Since(started).Seconds())
}

func TestDisputeResolvedToTheBuyerOnARealChain(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	started := time.Now()
	ms.fundedEscrow(t, ctx, "dispute")
	_, err := ms.Starter.Decide(ctx, "dispute", escrow.UpdateMarkShipped, decision(escrow.Vendor))
	require.NoError(t, err)
	open := decision(escrow.Buyer)
	open.Reason = "the box arrived empty"
	_, err = ms.Starter.Decide(ctx, "dispute", escrow.UpdateOpenDispute, open)
	require.NoError(t, err)
	_, err = ms.Starter.Decide(ctx, "dispute", escrow.UpdateResolveDispute, decision(escrow.Buyer))
	assert.ErrorContains(t, err, "only [arbiter]", "the buyer cannot resolve their own dispute")
	resolve := decision(escrow.Arbiter)
	resolve.Winner = escrow.Buyer
	_, err = ms.Starter.Decide(ctx, "dispute", escrow.UpdateResolveDispute, resolve)
	require.NoError(t, err)
	st := ms.settle(t, ctx, "dispute", escrow.StatusRefunded)
	ms.assertReceived(t, ctx, st, ms.buyer)
	assert.Equal(t, []escrow.Role{escrow.Arbiter, escrow.Buyer}, st.Payout.Signers)
	saveHistory(t, ms.Stack, "dispute", "dispute-to-buyer")
	t.Logf("dispute path: %.1fs from order to refunded", time.Since(started).Seconds())
}
