package activities

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// yieldKind says how long a step stands back for another escrow's setup.
type yieldKind int

const (
	// yieldPoll is a check repeated on a timer anyway (funding, confirmations, balance): it
	// stands back on every attempt, since a skipped check is no news and the next one runs.
	yieldPoll yieldKind = iota
	// yieldPayout moves money: it stands back while it has attempts to spare, marking the
	// instance wanted so no new setup takes it, then goes ahead.
	yieldPayout
)

// Retry delays of a step that stood back: a setup holds an instance for tens of seconds
// (two purge timers and four steps).
const (
	pollYieldDelay   = 5 * time.Second
	payoutYieldDelay = 10 * time.Second
	// payoutYieldAttempts bounds the yielding of a payout step with unlimited retries.
	payoutYieldAttempts = 12
)

// yieldToSetup returns an InstanceBusy error, without touching wallet-rpc, when this
// instance is leased to another escrow's setup in progress. A step of a finished escrow
// would close that setup's open wallet, and its next step would pay for an open_wallet (an
// RSA key and a wallet load) that the setup's lease exists to avoid; a funding poll whose
// daemon is down would do it on every retry. The holder's own steps never stand back.
func (w *Wallet) yieldToSetup(ctx context.Context, escrowID string, kind yieldKind) error {
	if w.pool == nil || !activity.IsActivity(ctx) {
		return nil
	}
	info := activity.GetInfo(ctx)
	if payoutScheduled(info.RetryPolicy) {
		kind = yieldPayout // the payout waits on this check: its retries running out park it
	}
	want := kind == yieldPayout
	if want && !payoutMayYield(info.Attempt, info.RetryPolicy) {
		return nil
	}
	holder, err := w.pool.Yield(ctx, w.instance, escrowID, want)
	if err != nil {
		// Not knowing is no reason to hold up money or a check: go ahead, as before leases.
		activity.GetLogger(ctx).Warn("cannot tell whether a setup holds this instance; going ahead", "instance", w.instance, "error", err)
		return nil
	}
	if holder == "" {
		return nil
	}
	if w.counters != nil {
		w.counters.Yields.Add(1)
	}
	delay := pollYieldDelay
	if want {
		delay = payoutYieldDelay
	}
	return expectedWait(
		fmt.Sprintf("wallet-rpc %s is busy with the setup of escrow %s; standing back (attempt %d)", w.instance, holder, info.Attempt),
		escrow.ErrTypeInstanceBusy, temporal.ApplicationErrorOptions{NextRetryDelay: delay})
}

// payoutScheduled reports whether the payout scheduled this step with its own options
// (workflows' payoutOptions list escrow.ErrTypeStale as non-retryable; a poll's options do
// not). A check such as SpendableBalance then stands back as a payout step does. As a poll,
// it would stand back on every attempt, and under a stream of setups on a small pool its
// retries ran out and the payout parked as unreachable (seen at 100 escrows in flight on 3
// wallet-rpcs, docs/benchmark.md, "Sustained load").
func payoutScheduled(rp *temporal.RetryPolicy) bool {
	return rp != nil && slices.Contains(rp.NonRetryableErrorTypes, escrow.ErrTypeStale)
}

// payoutMayYield keeps the last two attempts of a payout step for the step itself, so
// standing back never uses up the retries that decide whether the payout parks.
func payoutMayYield(attempt int32, rp *temporal.RetryPolicy) bool {
	limit := int32(payoutYieldAttempts)
	if rp != nil && rp.MaximumAttempts > 0 {
		limit = min(limit, rp.MaximumAttempts-2)
	}
	return attempt <= limit
}
