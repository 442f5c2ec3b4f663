package workflows

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// TestOnlyThePayoutsOwnStepsAreToldApartAsPayoutSteps: a wallet step tells a payout's step
// from a poll by escrow.ErrTypeStale among its non-retryable errors (activities'
// payoutScheduled), and keeps its last attempts from standing back for setups. The payout's
// options must carry it, and no poll's, or a holdings look inside the payout parks it under a
// stream of setups, or a poll costs a setup an open_wallet.
func TestOnlyThePayoutsOwnStepsAreToldApartAsPayoutSteps(t *testing.T) {
	marked := func(nonRetryable []string) bool { return slices.Contains(nonRetryable, escrow.ErrTypeStale) }
	for _, parks := range []bool{true, false} {
		assert.True(t, marked(payoutOptions(parks).RetryPolicy.NonRetryableErrorTypes), "payoutOptions(%t)", parks)
	}
	assert.False(t, marked(pollOptions().RetryPolicy.NonRetryableErrorTypes), "pollOptions")
	assert.False(t, marked(walletOptions(stepTimeout).RetryPolicy.NonRetryableErrorTypes), "walletOptions")
}
