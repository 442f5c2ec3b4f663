package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// checkingRole is the role whose wallet checks for the buyer's payment ("watcher" names the
// block watcher alone). Every role's wallet sees incoming payments; the arbiter's is the
// marketplace's own in every custody model.
const checkingRole = escrow.Arbiter

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

// lifecycle drives the escrow from funding to its end. Each turn waits for what the
// current status is waiting for (a payment, a decision, a timer, a payout), so an update
// handler only has to change the status to steer it.
func (e *escrowFlow) lifecycle(ctx workflow.Context) (escrow.EscrowResult, error) {
	for {
		var err error
		switch st := e.status.Status; st {
		case escrow.StatusAwaitingFunding:
			err = e.awaitFunding(ctx)
			e.unwatchOnLeaving(ctx, err)
		case escrow.StatusFunded:
			err = workflow.Await(ctx, func() bool { return e.status.Status != st })
		case escrow.StatusShipped:
			err = e.awaitOrAutoRelease(ctx)
		case escrow.StatusDisputed:
			err = e.awaitResolution(ctx)
		case escrow.StatusReleasing, escrow.StatusRefunding, escrow.StatusPayoutBlocked:
			err = e.payout(ctx)
		default:
			watching, werr := e.watchTurn(ctx)
			e.unwatchLate(ctx, watching, werr)
			if werr == nil && !watching {
				return e.finish(ctx)
			}
			err = werr
		}
		if err != nil {
			e.unwatchKept(ctx, err)
			return e.result, err
		}
		if e.historyFull(ctx) && !e.cancelPending {
			return e.result, e.continueAsNew(ctx)
		}
	}
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
	if e.cancelPending {
		if checkErr != nil {
			// No fresh look could be had (the check retried for a while): decide on the last
			// known data. Nothing is lost: the late-money watch that follows a cancel refunds
			// whatever did arrive.
			workflow.GetLogger(ctx).Warn("cancel decided without a fresh funding check; the late-money watch covers it", "error", checkErr)
		}
		e.cancelPending = false
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
	if changed {
		e.publish(ctx) // an underpayment or a confirming payment is visible to all
	}
	switch {
	case res.PendingAtomic > 0 || changed || e.poll == 0:
		e.poll = e.timing.FundingPoll // something is moving: watch it closely
	default:
		e.poll = min(2*e.poll, e.fundingPollMax())
	}
	left := f.Deadline.Sub(workflow.Now(ctx))
	if left <= 0 {
		if checkErr != nil && version(ctx, changeFreshDecisions, workflow.DefaultVersion, 1) >= 1 {
			// Never expire on stale data: a payment may have confirmed since the last check.
			return workflow.Sleep(ctx, e.timing.FundingPoll)
		}
		e.expireFunding(ctx)
		return nil
	}
	wait := min(e.poll, left)
	until := workflow.Now(ctx).Add(wait)
	for {
		_, err := workflow.AwaitWithTimeout(ctx, wait, func() bool {
			return e.status.Status != escrow.StatusAwaitingFunding || e.cancelPending || e.sightingPending(ctx)
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

// awaitOrAutoRelease waits for the buyer after shipment; when the auto-release time passes
// with no confirmation and no dispute, the vendor and the arbiter release.
func (e *escrowFlow) awaitOrAutoRelease(ctx workflow.Context) error {
	changed, err := workflow.AwaitWithTimeout(ctx, e.status.AutoReleaseAt.Sub(workflow.Now(ctx)), func() bool {
		return e.status.Status != escrow.StatusShipped
	})
	if err != nil || changed {
		return err
	}
	if !workflow.Now(ctx).Before(e.status.AutoReleaseAt) {
		e.record(ctx, escrow.Decision{Update: escrow.UpdateConfirmReceipt, Detail: "auto-release"})
		e.decidePayout(ctx, escrow.PayoutRelease, escrow.Arbiter)
	}
	return nil
}

// awaitResolution waits for the arbiter; past the escalation time it flags the dispute
// (search attribute EscrowEscalated) and keeps waiting.
func (e *escrowFlow) awaitResolution(ctx workflow.Context) error {
	until := func() bool { return e.status.Status != escrow.StatusDisputed }
	if e.status.Escalated {
		return workflow.Await(ctx, until)
	}
	changed, err := workflow.AwaitWithTimeout(ctx, e.status.EscalateAt.Sub(workflow.Now(ctx)), until)
	if err != nil || changed {
		return err
	}
	if !workflow.Now(ctx).Before(e.status.EscalateAt) {
		e.status.Escalated = true
		workflow.GetLogger(ctx).Warn("dispute escalated: the arbiter has not resolved it in time")
		e.publish(ctx)
	}
	return nil
}

// finish ends the run with the escrow's final state.
func (e *escrowFlow) finish(ctx workflow.Context) (escrow.EscrowResult, error) {
	e.result.Status = e.status.Status
	e.result.Payout = e.status.Payout
	e.result.Leftover = e.status.Leftover
	e.awaitProjections(ctx)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return e.result, err
	}
	return e.result, nil
}

// historyFull says the run should continue as new: long funding waits and payout polls
// would otherwise grow one history without bound.
func (e *escrowFlow) historyFull(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= e.timing.HistoryLimit
}

// continueAsNew hands the state to a fresh run once no update handler is mid-way, so no
// decision is lost across it; the projection writes land first.
func (e *escrowFlow) continueAsNew(ctx workflow.Context) error {
	e.noteKeptSightings(ctx)
	e.awaitProjections(ctx)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	next := e.in
	next.Resume = &escrow.Checkpoint{State: e.status, Wallets: e.wallets, Version: e.version, Result: e.result}
	workflow.GetLogger(ctx).Info("continuing as new", "history_length", workflow.GetInfo(ctx).GetCurrentHistoryLength())
	return workflow.NewContinueAsNewError(ctx, Escrow, next)
}

// on routes a role's step to its wallet-rpc's task queue.
func (e *escrowFlow) on(ctx workflow.Context, r escrow.Role, opts workflow.ActivityOptions) workflow.Context {
	opts.TaskQueue = escrow.WalletTaskQueue(e.status.Assignment.For(r))
	return workflow.WithActivityOptions(ctx, opts)
}
