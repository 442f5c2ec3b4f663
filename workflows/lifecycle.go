package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// checkingRole is the role whose wallet checks for the buyer's payment ("watcher" names the
// block watcher alone). Every role's wallet sees incoming payments; the arbiter's is the
// marketplace's own in every custody model.
const checkingRole = escrow.Arbiter

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
			err = e.runPayout(ctx)
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
		if e.historyFull(ctx) && !e.funding.cancelPending {
			return e.result, e.continueAsNew(ctx)
		}
	}
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
	next.Resume = &escrow.Checkpoint{State: e.status, Wallets: e.setup.wallets, Version: e.version, Result: e.result}
	workflow.GetLogger(ctx).Info("continuing as new", "history_length", workflow.GetInfo(ctx).GetCurrentHistoryLength())
	return workflow.NewContinueAsNewError(ctx, Escrow, next)
}

// on routes a role's step to its wallet-rpc's task queue.
func (e *escrowFlow) on(ctx workflow.Context, r escrow.Role, opts workflow.ActivityOptions) workflow.Context {
	opts.TaskQueue = escrow.WalletTaskQueue(e.status.Assignment.For(r))
	return workflow.WithActivityOptions(ctx, opts)
}
