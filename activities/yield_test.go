package activities

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/xmr-escrow/xmr-escrow/activities/internal/fakeplacer"
	"github.com/xmr-escrow/xmr-escrow/activities/placement"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// leasedTestWallet is a test wallet whose instance ("fake") is leased to holder's setup.
func leasedTestWallet(t *testing.T, holder string) (*testWallet, *placement.Pool) {
	t.Helper()
	tw := newTestWallet(t)
	pool, err := placement.New([]string{"fake"})
	require.NoError(t, err)
	_, err = pool.AssignWalletRPCs(t.Context(), placement.AssignInput{EscrowID: holder})
	require.NoError(t, err)
	tw.w.pool = pool
	return tw, pool
}

func requireBusy(t *testing.T, err error) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
	assert.Equal(t, escrow.ErrTypeInstanceBusy, appErr.Type())
	assert.Positive(t, appErr.NextRetryDelay(), "it asks to be retried after a pause, not at once")
}

// TestAFundingPollNeverClosesTheWalletOfASetupInProgress: an escrow awaiting funding whose
// arbiter shares an instance with a setup in progress stands back without a single call to
// wallet-rpc, so the setup's open wallet stays open; once the setup releases the instance,
// the check runs.
func TestAFundingPollNeverClosesTheWalletOfASetupInProgress(t *testing.T) {
	tw, pool := leasedTestWallet(t, "setup")
	var res FundingResult
	err := tw.exec(tw.w.CheckFunding, FundingInput{EscrowID: "awaiting", Role: escrow.Arbiter}, &res)
	requireBusy(t, err)
	assert.Empty(t, tw.fake.called(), "not one wallet-rpc call while another setup holds the instance")
	assert.EqualValues(t, 1, tw.counters.Yields.Load())

	require.True(t, pool.Return("fake", "setup"))
	_ = tw.exec(tw.w.CheckFunding, FundingInput{EscrowID: "awaiting", Role: escrow.Arbiter}, &res)
	assert.NotEmpty(t, tw.fake.called(), "a free instance runs the check")
}

// TestASetupNeverStandsBackFromItself: the lease holder's own steps go ahead.
func TestASetupNeverStandsBackFromItself(t *testing.T) {
	tw, _ := leasedTestWallet(t, "setup")
	var res FundingResult
	_ = tw.exec(tw.w.CheckFunding, FundingInput{EscrowID: "setup", Role: escrow.Arbiter}, &res)
	assert.NotEmpty(t, tw.fake.called())
	assert.Zero(t, tw.counters.Yields.Load())
}

// TestAPayoutStepStandsBackForASetupAndMarksTheInstanceWanted: money-moving steps stand back
// too, and ask the shared table to keep the instance from the next setup.
func TestAPayoutStepStandsBackForASetupAndMarksTheInstanceWanted(t *testing.T) {
	tw := newTestWallet(t)
	pool, err := placement.New([]string{"fake"})
	require.NoError(t, err)
	f := &fakeplacer.Placer{Holder: "setup"}
	pool.Share(f, placement.DefaultLeaseTTL)
	tw.w.pool = pool
	var res SignPayoutResult
	err = tw.exec(tw.w.SignPayout, SignPayoutInput{EscrowID: "paying", Role: escrow.Vendor}, &res)
	requireBusy(t, err)
	assert.Empty(t, tw.fake.called())
	assert.Equal(t, []string{"fake"}, f.Wants)

	var poll TxStatusResult
	err = tw.exec(tw.w.PayoutStatus, TxStatusInput{EscrowID: "paying", Role: escrow.Vendor, TxHash: "ab"}, &poll)
	requireBusy(t, err)
	assert.Equal(t, []string{"fake"}, f.Wants, "a poll marks nothing")
}

// TestAPayoutStepKeepsItsLastAttemptsForItself: standing back never uses up the retries
// that decide whether a payout parks.
func TestAPayoutStepKeepsItsLastAttemptsForItself(t *testing.T) {
	for _, c := range []struct {
		attempt, max int32
		yield        bool
	}{
		{1, 6, true}, {4, 6, true}, {5, 6, false}, {6, 6, false},
		{1, 0, true}, {payoutYieldAttempts, 0, true}, {payoutYieldAttempts + 1, 0, false},
		{1, 2, false},
	} {
		rp := &temporal.RetryPolicy{MaximumAttempts: c.max}
		assert.Equal(t, c.yield, payoutMayYield(c.attempt, rp), "attempt %d of %d", c.attempt, c.max)
	}
	assert.True(t, payoutMayYield(1, nil))
}

// TestAHoldingsLookThePayoutWaitsOnNeverParksItForASetup: a check scheduled with the
// payout's options (escrow.ErrTypeStale non-retryable) stands back as a payout step, keeping
// its last attempts; with a poll's options it stands back on every attempt. As a poll inside
// the payout, a stream of setups on a small pool ran its retries out and parked the payout.
func TestAHoldingsLookThePayoutWaitsOnNeverParksItForASetup(t *testing.T) {
	payout := &temporal.RetryPolicy{MaximumAttempts: 6, NonRetryableErrorTypes: []string{escrow.ErrTypeInvalidInput, escrow.ErrTypeStale, escrow.ErrTypePayoutRejected}}
	poll := &temporal.RetryPolicy{MaximumAttempts: 5, NonRetryableErrorTypes: []string{escrow.ErrTypeInvalidInput}}
	assert.True(t, payoutScheduled(payout))
	assert.False(t, payoutScheduled(poll))
	assert.False(t, payoutScheduled(nil))
	assert.False(t, payoutMayYield(payout.MaximumAttempts, payout), "its last attempt goes ahead")
}
