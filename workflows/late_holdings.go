package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// changeLateHoldings versions the late-money watch that counts what arrived beyond what the
// escrow has dealt with (status.LateSeenAtomic): payments that unlock later are refunded when
// they do, dust never keeps the watch alive, and the grace period ends with a last look. It is
// taken when the watch starts and kept in status.LateRules.
const changeLateHoldings = "late-holdings"

// lateConfirmWait bounds how long the watch stays open past its grace period for a payment
// still confirming at the last look, or a last look that keeps failing: a day, or the grace
// period itself when that is shorter.
const lateConfirmWait = 24 * time.Hour

// overtime is how long the watch may run past its grace period (lateConfirmWait).
func (e *escrowFlow) overtime() time.Duration {
	return min(lateConfirmWait, e.timing.LateMoneyGrace)
}

// dealtWith is the incoming money the escrow's payouts have dealt with: what they spent, and
// the dust they left.
func (e *escrowFlow) dealtWith() uint64 {
	var sum uint64
	for _, p := range append([]*escrow.Payout{e.status.Payout}, e.lateRefunds()...) {
		if p != nil && p.Submitted {
			sum += p.FundedAtomic
		}
	}
	if d := e.status.Dust; d != nil {
		sum += d.AmountAtomic
	}
	return sum
}

func (e *escrowFlow) lateRefunds() []*escrow.Payout {
	out := make([]*escrow.Payout, len(e.status.LateRefunds))
	for i := range e.status.LateRefunds {
		out[i] = &e.status.LateRefunds[i]
	}
	return out
}

// lateTurn is one turn of the watch under changeLateHoldings. It reports false once the
// grace period is over and a last look found nothing to refund or wait for.
func (e *escrowFlow) lateTurn(ctx workflow.Context) (watching bool, err error) {
	if lr := e.status.LateRefund; lr != nil {
		done, err := e.payoutTurn(ctx, lr)
		if err != nil || !done {
			return true, err
		}
		e.status.LateRefund = nil
		if lr.Submitted {
			e.status.LateRefunds = append(e.status.LateRefunds, *lr)
			workflow.GetLogger(ctx).Info("late money refunded", "tx_hashes", lr.TxHashes, "amount", lr.AmountAtomic)
			workflow.GetMetricsHandler(ctx).Counter(escrow.MetricLateRefunds).Inc(1)
		} else {
			workflow.GetLogger(ctx).Info("the late money is nothing a payout can spend (dust, or gone)", "dust", lr.Dust)
		}
		e.late.poll = 0
		e.publish(ctx)
		return true, nil
	}
	if p := e.status.Payout; p != nil && p.Follow != nil && p.Follow.Suspect && p.Submitted {
		// The watcher reported the completed payout gone (changePayoutReorged).
		// Undone, the escrow is releasing or refunding again: the lifecycle pays out, then the
		// watch goes on.
		_, err := e.recheckPayout(ctx, p)
		return true, err
	}
	e.registerLateWatch(ctx)
	now := workflow.Now(ctx)
	last := !now.Before(e.status.WatchUntil)
	if !last && e.watcherVouches(ctx) {
		return true, e.lateWait(ctx, min(e.timing.LateWatchedPollMax, e.status.WatchUntil.Sub(now)))
	}
	var res activities.FundingResult
	in := activities.FundingInput{EscrowID: e.in.EscrowID, Role: checkingRole, MinConfirmations: e.timing.FundingConfirmations}
	if err := workflow.ExecuteActivity(e.on(ctx, checkingRole, pollOptions()), wallet.CheckFunding, in).Get(ctx, &res); err != nil {
		// No news is not a last look: a failed one is tried again for a while, and a watch
		// that ends without one says so, for an operator to resume it.
		if last && !now.Before(e.status.WatchUntil.Add(e.overtime())) {
			e.status.Leftover = &escrow.Leftover{Reason: "the watch ended without a last look (the check kept failing: " +
				failureReason(err) + "); starter resume-watch looks again"}
			workflow.GetLogger(ctx).Warn("late-money watch over without a last look", "error", err)
			e.publish(ctx)
			return false, nil
		}
		workflow.GetLogger(ctx).Warn("late-money check failed; checking again later", "error", err)
		return true, workflow.Sleep(ctx, min(e.timing.LatePoll, max(e.status.WatchUntil.Add(e.overtime()).Sub(now), time.Second)))
	}
	if d := e.status.Dust; d != nil && res.ConfirmedAtomic > e.status.LateSeenAtomic && res.ConfirmedAtomic-e.status.LateSeenAtomic < d.BelowAtomic {
		// Less than one output's fee in all: dust, whatever its outputs. Noted, not refunded.
		workflow.GetLogger(ctx).Info("late money below the fee of spending it: dust", "late", res.ConfirmedAtomic-e.status.LateSeenAtomic)
		d.AmountAtomic += res.ConfirmedAtomic - e.status.LateSeenAtomic
		e.status.LateSeenAtomic = res.ConfirmedAtomic
	}
	switch {
	case res.ConfirmedAtomic > e.status.LateSeenAtomic:
		workflow.GetLogger(ctx).Warn("late money arrived; refunding it to the buyer", "late", res.ConfirmedAtomic-e.status.LateSeenAtomic)
		e.status.LateSeenAtomic = res.ConfirmedAtomic
		e.status.LateRefund = &escrow.Payout{Kind: escrow.PayoutRefund, Payee: escrow.Buyer, Address: e.status.BuyerRefundAddress,
			Signers: []escrow.Role{escrow.Arbiter, escrow.Buyer}, Rules: escrow.ExactShares, Division: e.division(0)}
		e.publish(ctx)
		return true, nil
	case last && res.PendingAtomic > 0 && now.Before(e.status.WatchUntil.Add(e.overtime())):
		workflow.GetLogger(ctx).Info("a payment is still confirming at the end of the grace period; watching until it can be refunded", "pending", res.PendingAtomic)
		return true, workflow.Sleep(ctx, e.timing.LatePoll)
	case last:
		if e.status.Leftover = e.leftover(res); e.status.Leftover != nil {
			e.publish(ctx)
		}
		workflow.GetLogger(ctx).Info("late-money watch over", "leftover", e.status.Leftover)
		return false, nil
	}
	if w := e.status.LateWatch; w != nil && w.HealthNet {
		w.Confirming = res.PendingAtomic > 0
	}
	e.nextLatePoll(res.PendingAtomic > 0)
	// The last wait ends at WatchUntil exactly, and the next turn is the last look.
	return true, e.lateWait(ctx, min(e.late.poll, e.status.WatchUntil.Sub(now)))
}

// leftover lists what stays at the address when the watch ends: the dust the last payout
// left, and payments locked beyond it.
func (e *escrowFlow) leftover(res activities.FundingResult) *escrow.Leftover {
	l := &escrow.Leftover{TimeLocked: res.TimeLocked, TimeLockedAtomic: res.TimeLockedAtomic}
	if d := e.status.Dust; d != nil && d.Outputs > 0 {
		l.Dust = d
	}
	switch {
	case l.Dust == nil && l.TimeLockedAtomic == 0:
		return nil
	case l.TimeLockedAtomic > 0:
		l.Reason = "time-locked payments unlock after the grace period: starter resume-watch refunds them once they do; dust is worth less than the fee to spend it"
	default:
		l.Reason = "dust: worth less than the fee to spend it, so no payout takes it"
	}
	return l
}

// resumeWatch starts a finished escrow's watch again, in a new run an operator started
// (starter.ResumeWatch): for time-locked payments that unlock after the grace period.
func (e *escrowFlow) resumeWatch(ctx workflow.Context, cp *escrow.Checkpoint) {
	now := workflow.Now(ctx)
	if e.status.LateRules < escrow.ExactShares {
		e.status.LateRules, e.status.LateSeenAtomic = escrow.ExactShares, e.dealtWith()
	}
	e.status.WatchUntil, e.status.Leftover, e.result.Leftover = now.Add(cp.WatchFor), nil, nil
	e.status.LateWatch = nil // the watch registers again (changeLateWatcher)
	e.record(ctx, escrow.Decision{Update: escrow.UpdateResumeWatch, ActorID: cp.Operator, Detail: "watch resumed for " + cp.WatchFor.String()})
	// The earlier run numbered its projection writes from 1; this run's must land above them.
	e.version = max(e.version, workflow.GetInfo(ctx).WorkflowStartTime.UnixMilli())
	workflow.GetLogger(ctx).Info("late-money watch resumed by an operator", "operator", cp.Operator, "until", e.status.WatchUntil)
}
