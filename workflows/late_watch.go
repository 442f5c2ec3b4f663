package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// changeLateWatcher versions the block watcher's part in the late-money watch (issue 23
// item 3): a finished escrow registers its address again for the grace period, asks its
// wallet when a payment-seen signal comes (a time-locked payment's sighting brings nothing
// forward, as in the funding wait), polls only as a rare safety net
// (Timing.LateWatchedPollMax) while registered, and is unwatched when the watch ends. The
// grace period still ends with the last look. Everything after the registration keys off
// status.LateWatch, which only this version sets, so runs continued as new need no marker.
const changeLateWatcher = "late-money-watcher"

// registerLateWatch registers a finished escrow's address with the block watcher for its
// grace period, once (status.LateWatch keeps the outcome across continue-as-new). The funding
// wait's registration was taken off when it ended; the view key is read again, by the same
// step. A failure is recorded, and the watch polls as it always did.
func (e *escrowFlow) registerLateWatch(ctx workflow.Context) {
	if e.status.LateWatch != nil || e.status.Address == "" {
		return
	}
	if version(ctx, changeLateWatcher, workflow.DefaultVersion, 1) < 1 {
		return
	}
	if e.adoptKeptWatch(ctx) {
		return
	}
	e.status.LateWatch = &escrow.FundingWatch{}
	if e.watchAddress(ctx, e.status.LateWatch, true, "for late money") {
		e.useHealthNet(ctx, e.status.LateWatch)
		workflow.GetLogger(ctx).Info("late-money watch registered with the block watcher", "from_height", e.status.LateWatch.FromHeight, "until", e.status.WatchUntil)
	}
}

// lateWatched reports that the block watcher watches the address for the late-money watch.
func (e *escrowFlow) lateWatched() bool {
	w := e.status.LateWatch
	return w != nil && w.Registered && !w.Unwatched
}

// nextLatePoll sets the wait before the next late-money check after one that found nothing
// to refund. While registered, the watcher's signal brings any payment, so the poll is the
// safety net at once, unless a payment is still confirming (the watcher does not report
// depths). Otherwise the back-off goes on as it always did.
func (e *escrowFlow) nextLatePoll(pending bool) {
	if e.lateWatched() && !pending {
		e.late.poll = e.timing.LateWatchedPollMax
		return
	}
	e.late.nextPoll(pending, e.timing.LatePoll, e.timing.LatePollMax)
}

// lateWait waits before the next late-money check. While registered, a payment-seen signal
// ends the wait at once, unless every sighting is of a time-locked payment: those are
// recorded, and the wait goes on (the safety net or the last look sees them once they
// unlock). A flood of such sightings ends the turn once the history is long.
func (e *escrowFlow) lateWait(ctx workflow.Context, wait time.Duration) error {
	watched, payout := e.lateWatched(), e.payoutFollowedInGrace(ctx)
	if !watched && !payout {
		return workflow.Sleep(ctx, wait)
	}
	until := workflow.Now(ctx).Add(wait)
	for {
		seen, err := workflow.AwaitWithTimeout(ctx, wait, func() bool {
			return (watched && sightings(ctx).Len() > 0) || (payout && payoutSignals(ctx).Len() > 0)
		})
		if err != nil || !seen {
			return err
		}
		if payout && e.takeGracePayoutSignals(ctx) {
			return nil // the next turn asks the wallet about the payout (changePayoutReorged)
		}
		if watched && takeSightingsInto(ctx, e.status.LateWatch, true) {
			e.late.checkNow = true
			return nil // the next turn asks the wallet now
		}
		if wait = until.Sub(workflow.Now(ctx)); wait <= 0 || e.historyFull(ctx) {
			return nil
		}
	}
}

// unwatchLate takes the address, and the payout's hashes it follows, off the block watcher
// once the late-money watch is over (watching false), or the run is being cancelled (turnErr). Like unwatchOnLeaving, the write
// is awaited with the projections before the run ends.
func (e *escrowFlow) unwatchLate(ctx workflow.Context, watching bool, turnErr error) {
	var follow *escrow.PayoutFollow
	if p := e.status.Payout; p != nil && p.Follow != nil && p.Follow.Following && !p.Follow.Unfollowed {
		follow = p.Follow // the watcher follows the payout's hashes until the unwatch (changePayoutWatcher)
	}
	kept := e.keptWatch() // taken over by the late watch, or left by a failed escrow (changeKeepWatch)
	if (!e.lateWatched() && follow == nil && kept == nil) || (watching && turnErr == nil) {
		return
	}
	if e.lateWatched() {
		takeSightingsInto(ctx, e.status.LateWatch, false)
		e.status.LateWatch.Unwatched = true
	}
	if kept != nil {
		kept.Unwatched = true
	}
	if follow != nil {
		follow.Unfollowed = true
	}
	e.unwatch(ctx, turnErr, "take the finished escrow off the block watcher")
}
