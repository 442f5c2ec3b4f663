package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities/projection"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// changeKeepWatch versions keeping the funding wait's registration with the block watcher
// through the payout (issue 23 item 4): the late-money watch takes it over (FundingWatch.Kept,
// Adopted) instead of opening the arbiter's wallet to register again, and needs no start check
// unless a sighting came in between. Everything after keys off Funding.Watch.Kept.
const changeKeepWatch = "watch-kept-through-payout"

// changeLateHealthNet versions the late-money watch's safety net that asks the block
// watcher's records (WatchHealth) before a wallet: while they vouch for the address, the grace
// period costs the wallet its last look alone. It is taken at the watch's registration and
// kept in LateWatch.HealthNet.
const changeLateHealthNet = "late-safety-net-health"

// keepWatch keeps the funding wait's registration when the wait ends well: every final
// status but failed has a late-money watch, which will take it over.
func (e *escrowFlow) keepWatch(ctx workflow.Context) bool {
	if e.status.Status == escrow.StatusFailed || e.status.Address == "" {
		return false
	}
	if version(ctx, changeKeepWatch, workflow.DefaultVersion, 1) < 1 {
		return false
	}
	e.takeSightings(ctx, false)
	e.status.Funding.Watch.Kept = true
	workflow.GetLogger(ctx).Info("the block watcher keeps watching the address through the payout, for the late-money watch")
	return true
}

// keptWatch is the funding wait's registration kept through the payout and not yet taken
// off the watcher, or nil.
func (e *escrowFlow) keptWatch() *escrow.FundingWatch {
	if w := e.status.Funding.Watch; w != nil && w.Kept && !w.Unwatched {
		return w
	}
	return nil
}

// adoptKeptWatch makes a kept registration the late-money watch's, and reports whether there
// was one. Sightings that came in since the funding wait are kept for the first turn.
func (e *escrowFlow) adoptKeptWatch(ctx workflow.Context) bool {
	f := e.keptWatch()
	if f == nil {
		return false
	}
	w := &escrow.FundingWatch{Registered: true, FromHeight: f.FromHeight, Adopted: true, Confirming: f.Confirming, TimeLocked: f.TimeLocked}
	e.status.LateWatch = w
	e.useHealthNet(ctx, w)
	workflow.GetLogger(ctx).Info("late-money watch takes over the funding wait's registration", "from_height", w.FromHeight, "until", e.status.WatchUntil)
	return true
}

// useHealthNet lets the late watch's safety net ask the watcher first (changeLateHealthNet).
func (e *escrowFlow) useHealthNet(ctx workflow.Context, w *escrow.FundingWatch) {
	if version(ctx, changeLateHealthNet, workflow.DefaultVersion, 1) >= 1 {
		w.HealthNet = true
	}
}

// noteKeptSightings records, before the run continues as new, the sightings that came in
// since the funding wait while the payout ran: the next run's late-money watch must ask its
// wallet about them (Confirming), and unread signals do not survive continue-as-new.
func (e *escrowFlow) noteKeptSightings(ctx workflow.Context) {
	if f := e.keptWatch(); f != nil && e.status.LateWatch == nil && takeNewSightings(ctx, f, true, e.status.Funding.TxIDs) {
		f.Confirming = true
	}
}

// unwatchKept takes a kept registration off the watcher when the run ends in error
// (cancelled) before a late-money watch took it over.
func (e *escrowFlow) unwatchKept(ctx workflow.Context, turnErr error) {
	if f := e.keptWatch(); f != nil && turnErr != nil {
		f.Unwatched = true
		e.unwatch(ctx, turnErr, "take the escrow off the block watcher")
	}
}

// healthOptions give the watcher's records a couple of minutes, as a projection read with a
// shorter deadline: without an answer the safety net asks the wallet, as it always did.
func healthOptions() workflow.ActivityOptions {
	o := projectionOptions
	o.ScheduleToCloseTimeout = 2 * time.Minute
	retry := *o.RetryPolicy
	retry.MaximumInterval = 30 * time.Second
	o.RetryPolicy = &retry
	return o
}

// watcherVouches runs before a late-money check that is not the last look. A turn brought
// forward by a sighting, or following a check that saw a payment confirming, asks the wallet;
// so does a sighting waiting, unless it is of a funding payment already counted (seen again as
// it was mined, after the escrow was funded). Otherwise (the watch's start, or the safety net's timer) it asks
// the watcher's records, and reports true when they vouch for the address: then no payment
// can have come that the watcher did not signal, and the wallet is not asked.
func (e *escrowFlow) watcherVouches(ctx workflow.Context) bool {
	w := e.status.LateWatch
	if !e.lateWatched() || !w.HealthNet {
		return false
	}
	if e.late.takeCheckNow() || w.Confirming {
		return false
	}
	if w.TimeLocked > 0 {
		// A time-locked payment was seen: the watcher reports it once, not when it unlocks, so
		// only the wallet's check can tell when it may be refunded. The safety net asks it.
		return false
	}
	if takeNewSightings(ctx, w, true, e.status.Funding.TxIDs) {
		return false
	}
	var h projection.WatchHealthResult
	in := projection.WatchHealthInput{EscrowID: e.in.EscrowID}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, healthOptions()), projector.WatchHealth, in).Get(ctx, &h); err != nil {
		workflow.GetLogger(ctx).Warn("the block watcher's records could not be read; asking the wallet", "error", err)
		return false
	}
	if !h.Vouches {
		workflow.GetLogger(ctx).Info("the block watcher cannot vouch for the address; asking the wallet", "reason", h.Reason)
		return false
	}
	w.Vouched++
	workflow.GetLogger(ctx).Info("the block watcher vouches for the address; no wallet check", "height", h.Height)
	return true
}
