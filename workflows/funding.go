package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// fundingState is the funding wait's own state: the poll's back-off, and a cancel taken
// while the wait runs. Neither outlives the wait (a continue-as-new starts the back-off
// again, and never happens while a cancel is pending), so neither is in the checkpoint; the
// wait's block-watcher registration is in status.Funding.Watch, which is.
type fundingState struct {
	// poll is the current wait between funding checks.
	poll time.Duration
	// cancelPending is a cancel accepted while awaiting funding, decided after a fresh check.
	cancelPending bool
}

// nextPoll sets the wait before the next funding check: first while something moves (and
// before the first wait), doubling up to most while nothing does.
func (f *fundingState) nextPoll(moving bool, first, most time.Duration) {
	f.poll = backOff(f.poll, moving, first, most)
}

// backOff is a poll's next wait after last: first while something moves (or before the
// first wait, last 0), else twice last, at most most.
func backOff(last time.Duration, moving bool, first, most time.Duration) time.Duration {
	if moving || last == 0 {
		return first
	}
	return min(2*last, most)
}

// startFunding moves a ready escrow to waiting for the buyer's payment, unless a party
// asked to cancel during the setup.
func (e *escrowFlow) startFunding(ctx workflow.Context) {
	e.status.Funding.Deadline = workflow.Now(ctx).Add(e.timing.FundingDeadline)
	if e.cancelRequested() {
		e.setStatus(ctx, escrow.StatusCancelled)
		return
	}
	e.setStatus(ctx, escrow.StatusAwaitingFunding)
}

// awaitFunding checks the escrow's address, then waits on a durable timer that backs off
// while nothing arrives, so many escrows can wait at once without each reopening a wallet
// every few seconds. It returns when the escrow is funded, cancelled, past its deadline, or
// after one check (so the caller can continue-as-new between checks); the block watcher's
// payment-seen signal ends the wait at once, so the next check runs now (watch.go).
func (e *escrowFlow) awaitFunding(ctx workflow.Context) error {
	e.registerWatch(ctx)
	f := &e.status.Funding
	var res activities.FundingResult
	in := activities.FundingInput{EscrowID: e.in.EscrowID, Role: checkingRole, MinConfirmations: e.timing.FundingConfirmations}
	checkErr := workflow.ExecuteActivity(e.on(ctx, checkingRole, pollOptions()), wallet.CheckFunding, in).Get(ctx, &res)
	if checkErr != nil {
		// A failed check is no news: the buyer's payment is on the chain either way, and
		// the next check will see it. It must never end the escrow.
		workflow.GetLogger(ctx).Warn("funding check failed; checking again later", "error", checkErr)
		res = activities.FundingResult{ConfirmedAtomic: f.ConfirmedAtomic, PendingAtomic: f.PendingAtomic, TxIDs: f.TxIDs,
			TimeLockedAtomic: f.TimeLockedAtomic, TimeLocked: f.TimeLocked, Payments: f.Payments}
	}
	if e.status.Status != escrow.StatusAwaitingFunding {
		return nil // cancelled while checking
	}
	changed := res.ConfirmedAtomic+res.PendingAtomic+res.TimeLockedAtomic != f.ConfirmedAtomic+f.PendingAtomic+f.TimeLockedAtomic
	f.ConfirmedAtomic, f.PendingAtomic, f.TxIDs = res.ConfirmedAtomic, res.PendingAtomic, res.TxIDs
	f.TimeLockedAtomic, f.TimeLocked, f.Payments = res.TimeLockedAtomic, res.TimeLocked, res.Payments
	f.Checks++
	if e.funding.cancelPending {
		if checkErr != nil {
			// No fresh look could be had (the check retried for a while): decide on the last
			// known data. Nothing is lost: the late-money watch that follows a cancel refunds
			// whatever did arrive.
			workflow.GetLogger(ctx).Warn("cancel decided without a fresh funding check; the late-money watch covers it", "error", checkErr)
		}
		e.funding.cancelPending = false
		e.cancel(ctx)
		return nil
	}
	amount := uint64(e.in.AmountAtomic)
	if f.ConfirmedAtomic >= amount {
		f.OverpaidAtomic = f.ConfirmedAtomic - amount
		f.FundedAt = workflow.Now(ctx)
		workflow.GetLogger(ctx).Info("escrow funded", "confirmed", f.ConfirmedAtomic, "overpaid", f.OverpaidAtomic)
		e.setStatus(ctx, escrow.StatusFunded)
		return nil
	}
	if checkErr == nil && res.PendingAtomic > 0 {
		e.followFunding(ctx, res.TxIDs)
	}
	if changed {
		e.publish(ctx) // an underpayment or a confirming payment is visible to all
	}
	e.funding.nextPoll(res.PendingAtomic > 0 || changed, e.timing.FundingPoll, e.fundingPollMax())
	left := f.Deadline.Sub(workflow.Now(ctx))
	if left <= 0 {
		if checkErr != nil && version(ctx, changeFreshDecisions, workflow.DefaultVersion, 1) >= 1 {
			// Never expire on stale data: a payment may have confirmed since the last check.
			return workflow.Sleep(ctx, e.timing.FundingPoll)
		}
		e.expireFunding(ctx)
		return nil
	}
	wait := min(e.funding.poll, left)
	until := workflow.Now(ctx).Add(wait)
	for {
		_, err := workflow.AwaitWithTimeout(ctx, wait, func() bool {
			return e.status.Status != escrow.StatusAwaitingFunding || e.funding.cancelPending || e.sightingPending(ctx)
		})
		if err != nil || !e.skipTimeLockedSightings(ctx) {
			e.takeSightings(ctx, false) // the next turn checks at once; a continue-as-new would drop them
			return err
		}
		// A flood of time-locked payments must not grow one run's history without end: the
		// turn ends, and the lifecycle continues as new when the history is long.
		if wait = until.Sub(workflow.Now(ctx)); wait <= 0 || e.historyFull(ctx) {
			return nil
		}
	}
}

// changeFreshDecisions versions the fresh funding check taken before a cancel or an
// expiry decides between "cancelled" and a refund.
const changeFreshDecisions = "fresh-funding-before-cancel"

// expireFunding ends an escrow whose deadline passed: cancelled, and whatever did arrive
// (an underpayment, a payment still confirming) goes back to the buyer.
func (e *escrowFlow) expireFunding(ctx workflow.Context) {
	e.record(ctx, escrow.Decision{Update: escrow.UpdateCancel, Detail: "funding deadline passed"})
	e.status.Reason = "funding deadline passed"
	e.cancel(ctx)
}

// cancel calls off an unfunded escrow, refunding anything that arrived anyway.
func (e *escrowFlow) cancel(ctx workflow.Context) {
	if f := e.status.Funding; f.ConfirmedAtomic+f.PendingAtomic > 0 {
		e.decidePayout(ctx, escrow.PayoutRefund, escrow.Arbiter)
		return
	}
	e.setStatus(ctx, escrow.StatusCancelled)
}
