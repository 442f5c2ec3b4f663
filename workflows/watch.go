package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/activities/projection"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// changeBlockWatcher versions the block watcher's part in the funding wait: the escrow
// registers its address and view key when it starts waiting, a payment-seen signal cuts the
// wait short, the poll backs off to a safety net while registered, and the escrow unwatches
// when the wait ends. Everything after the registration keys off status.Funding.Watch, which
// only this version sets, so runs continued as new need no marker of their own.
const changeBlockWatcher = "block-watcher"

// watchOptions give the registration a minute or so of tries, standing back for setups
// included (a poll's 5 s each): without it the escrow simply polls as it always did.
func watchOptions() workflow.ActivityOptions {
	o := pollOptions()
	o.ScheduleToCloseTimeout = 10 * time.Minute
	o.RetryPolicy.MaximumAttempts = 10
	return o
}

// registerWatch asks the watching role's wallet, once per escrow, to hand its address and
// view key to the block watcher. A failure is logged and recorded; the poll stays as it was.
func (e *escrowFlow) registerWatch(ctx workflow.Context) {
	f := &e.status.Funding
	if f.Watch != nil || e.status.Address == "" {
		return
	}
	if version(ctx, changeBlockWatcher, workflow.DefaultVersion, 1) < 1 {
		return
	}
	f.Watch = &escrow.FundingWatch{}
	if e.watchAddress(ctx, f.Watch, false, "for the payment") {
		workflow.GetLogger(ctx).Info("registered with the block watcher", "from_height", f.Watch.FromHeight)
	}
}

// watchAddress runs the watching role's RegisterWatch step (late: for the grace period) and
// records its outcome in w; what names the wait in the log lines of a registration that
// failed or was not kept. It reports whether the block watcher now watches the address.
func (e *escrowFlow) watchAddress(ctx workflow.Context, w *escrow.FundingWatch, late bool, what string) bool {
	var res activities.RegisterWatchResult
	in := activities.RegisterWatchInput{EscrowID: e.in.EscrowID, Role: checkingRole, Address: e.status.Address, Late: late}
	if err := workflow.ExecuteActivity(e.on(ctx, checkingRole, watchOptions()), wallet.RegisterWatch, in).Get(ctx, &res); err != nil {
		w.Failed = failureReason(err)
		workflow.GetLogger(ctx).Warn("block watcher registration failed; polling "+what+" as before", "error", err)
		return false
	}
	if !res.Registered {
		w.Failed = "the watching role's worker keeps no block watches"
		workflow.GetLogger(ctx).Info("not registered with a block watcher; polling " + what + " as before")
		return false
	}
	w.Registered, w.FromHeight = true, res.FromHeight
	return true
}

// fundingPollMax is the longest wait between funding checks: a safety net while the block
// watcher watches the address, the ordinary back-off's cap otherwise.
func (e *escrowFlow) fundingPollMax() time.Duration {
	if w := e.status.Funding.Watch; w != nil && w.Registered && !w.Unwatched {
		return e.timing.FundingWatchedPollMax
	}
	return e.timing.FundingPollMax
}

// sightings is the channel of the block watcher's payment-seen signals.
func sightings(ctx workflow.Context) workflow.ReceiveChannel {
	return workflow.GetSignalChannel(ctx, string(escrow.SignalPaymentSeen))
}

// sightingPending reports a payment-seen signal not yet taken, which ends the funding wait.
// Escrows that never asked to be watched (older runs) ignore the signal, so they replay.
func (e *escrowFlow) sightingPending(ctx workflow.Context) bool {
	return e.status.Funding.Watch != nil && sightings(ctx).Len() > 0
}

// changeTimeLockedSightings versions reading a sighting's unlock_time in the workflow: the
// sighting of a payment that cannot count (escrow.PaymentSeen.TimeLocked, the wallet check's
// own rule) is recorded, and brings no wallet check forward, so time-locked payments cost
// the pool nothing until the safety-net poll.
const changeTimeLockedSightings = "time-locked-sightings"

// skipTimeLockedSightings runs when the funding wait ends. If it ended on sightings alone
// and every one is of a time-locked payment, it records them and reports true: the wait goes
// on. Otherwise it records them too and reports false, and the escrow asks its wallet now.
func (e *escrowFlow) skipTimeLockedSightings(ctx workflow.Context) bool {
	if e.status.Funding.Watch == nil || e.status.Status != escrow.StatusAwaitingFunding || e.funding.cancelPending || sightings(ctx).Len() == 0 {
		return false
	}
	if version(ctx, changeTimeLockedSightings, workflow.DefaultVersion, 1) < 1 {
		return false
	}
	return !e.takeSightings(ctx, true)
}

// takeSightings records the payment-seen signals received so far. They are the audit
// trail only: what arrived is what the wallet's check, which they bring forward, says. With
// judge, a sighting of a time-locked payment brings nothing forward; it reports whether any
// sighting did.
func (e *escrowFlow) takeSightings(ctx workflow.Context, judge bool) (check bool) {
	return takeSightingsInto(ctx, e.status.Funding.Watch, judge)
}

// takeSightingsInto records the payment-seen signals received so far in w (the funding
// wait's watch, or the late-money watch's), as takeSightings says.
func takeSightingsInto(ctx workflow.Context, w *escrow.FundingWatch, judge bool) (check bool) {
	return takeNewSightings(ctx, w, judge, nil)
}

// takeNewSightings is takeSightingsInto where, with judge, a sighting of a transaction in
// counted (one a wallet check already counted: the funding payments, seen again as they are
// mined) brings nothing forward either.
func takeNewSightings(ctx workflow.Context, w *escrow.FundingWatch, judge bool, counted []string) (check bool) {
	if w == nil {
		return false
	}
	ch, now := sightings(ctx), workflow.Now(ctx)
	for {
		var p escrow.PaymentSeen
		if !ch.ReceiveAsync(&p) {
			return check
		}
		w.Note(p)
		if judge && p.TimeLocked(now) {
			w.TimeLocked++
			workflow.GetLogger(ctx).Info("the block watcher saw a time-locked payment; it cannot count, so the wallet is not asked",
				"tx_hash", p.TxHash, "amount", p.AmountAtomic, "unlock_time", p.UnlockTime, "height", max(p.Height, p.NextHeight))
			continue
		}
		if judge && slices.Contains(counted, p.TxHash) {
			workflow.GetLogger(ctx).Info("the block watcher saw a payment already counted; the wallet is not asked", "tx_hash", p.TxHash, "height", p.Height)
			continue
		}
		check = true
		workflow.GetLogger(ctx).Info("the block watcher saw a payment; asking the wallet now",
			"tx_hash", p.TxHash, "amount", p.AmountAtomic, "in_pool", p.InPool, "height", p.Height)
	}
}

// unwatchOnLeaving takes the escrow off the block watcher once the funding wait is over
// (funded, cancelled, refunding, past its deadline), or the run is being cancelled (turnErr);
// since changeKeepWatch a wait that ends well keeps the registration for the late watch.
// It is a database write like the projection, retried as long, and awaited with the
// projections before the run ends or continues as new, so it never holds the escrow up.
func (e *escrowFlow) unwatchOnLeaving(ctx workflow.Context, turnErr error) {
	w := e.status.Funding.Watch
	if w == nil || !w.Registered || w.Unwatched || w.Kept {
		return
	}
	if e.status.Status == escrow.StatusAwaitingFunding && turnErr == nil {
		return
	}
	if turnErr == nil && e.keepWatch(ctx) {
		return
	}
	e.takeSightings(ctx, false)
	w.Unwatched = true
	e.unwatch(ctx, turnErr, "take the escrow off the block watcher")
}

// unwatch takes the escrow off the block watcher (projector.Unwatch). In a turn that ended
// well the write joins the projections awaited later; in a cancelled or failed one nothing
// awaits it later, so it waits here, a minute at most, like the release of a setup's
// instances, and a failure is logged as what.
func (e *escrowFlow) unwatch(ctx workflow.Context, turnErr error, what string) {
	opts := projectionOptions
	if turnErr != nil {
		opts.ScheduleToCloseTimeout = time.Minute
	}
	// Disconnected and never cancelled: cancelling the run must not cancel the write.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	f := workflow.ExecuteActivity(workflow.WithActivityOptions(dctx, opts), projector.Unwatch, projection.UnwatchInput{EscrowID: e.in.EscrowID})
	if turnErr == nil {
		e.projections = append(e.projections, f)
		return
	}
	if err := f.Get(dctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn(what, "error", err)
	}
}

// changeFundingFollowed versions the block watcher's part in a payment's confirmations: once
// a funding check sees money still confirming, the escrow asks the watcher to follow those
// payments (FollowFunding), and the watcher signals payment-seen once they are deep enough, so
// the next check runs then rather than at the next FundingPoll. The poll is unchanged: the
// signal only brings a check forward.
const changeFundingFollowed = "funding-followed"

// followFunding asks the block watcher to follow the escrow's counted payments (txIDs, some
// still confirming) to the depth a payment counts at, once per set of payments. A failure is
// logged and recorded; the poll covers it.
func (e *escrowFlow) followFunding(ctx workflow.Context, txIDs []string) {
	w := e.status.Funding.Watch
	if w == nil || !w.Registered || w.Unwatched || len(txIDs) == 0 || slices.Equal(w.Followed, txIDs) {
		return
	}
	if version(ctx, changeFundingFollowed, workflow.DefaultVersion, 1) < 1 {
		return
	}
	w.Followed, w.FollowFailed = slices.Clone(txIDs), ""
	var res activities.FollowResult
	in := activities.FollowInput{EscrowID: e.in.EscrowID, TxHashes: w.Followed, Target: e.timing.FundingConfirmations}
	if err := workflow.ExecuteActivity(e.on(ctx, checkingRole, watchOptions()), wallet.FollowFunding, in).Get(ctx, &res); err != nil {
		w.FollowFailed = failureReason(err)
		workflow.GetLogger(ctx).Warn("the block watcher could not follow the funding payments; the poll sees them confirm", "error", err)
		return
	}
	if !res.Following {
		w.FollowFailed = "the watching role's worker keeps no block watches"
	}
}
