package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// changeLateMoney versions the grace period after the final status, during which the escrow
// keeps watching its address and refunds whatever arrives.
const changeLateMoney = "late-money-watch"

// lateState is the late-money watch's own in-memory state: when to look at the address next.
// Its progress that must survive a continue-as-new (the grace period's end, what was dealt
// with, the block watcher's registration) is in the status; these only pace the next turn,
// and a new run starts them afresh.
type lateState struct {
	// poll is the current wait between late-money checks.
	poll time.Duration
	// checkNow: a sighting ended the wait, so the next turn asks the wallet whatever the
	// watcher's records say (watcherVouches).
	checkNow bool
}

// nextPoll sets the wait before the next late-money check: first while a payment confirms
// (and before the first wait), doubling up to most while nothing does. While the block
// watcher watches the address, nextLatePoll waits for its safety net instead.
func (l *lateState) nextPoll(pending bool, first, most time.Duration) {
	l.poll = backOff(l.poll, pending, first, most)
}

// takeCheckNow reports whether a sighting asked for the next check to go to the wallet, and
// forgets it: it is for one turn.
func (l *lateState) takeCheckNow() bool {
	now := l.checkNow
	l.checkNow = false
	return now
}

// watchTurn is one turn of the watch that follows a final status: money that arrives after
// the payout or the cancel is refunded to the buyer, never stranded. It reports false once
// the grace period is over (or for escrows that never had an address, or predate the watch).
func (e *escrowFlow) watchTurn(ctx workflow.Context) (watching bool, err error) {
	if e.status.Address == "" || e.status.Status == escrow.StatusFailed {
		return false, nil
	}
	now := workflow.Now(ctx)
	if e.status.WatchUntil.IsZero() {
		if version(ctx, changeLateMoney, workflow.DefaultVersion, 1) < 1 {
			return false, nil
		}
		e.status.WatchUntil = now.Add(e.timing.LateMoneyGrace)
		if version(ctx, changeLateHoldings, workflow.DefaultVersion, 1) >= 1 {
			e.status.LateRules, e.status.LateSeenAtomic = escrow.ExactShares, e.dealtWith()
		}
		workflow.GetLogger(ctx).Info("watching the address for late money", "until", e.status.WatchUntil, "dealt_with", e.status.LateSeenAtomic)
	}
	if e.status.LateRules >= escrow.ExactShares {
		return e.lateTurn(ctx)
	}
	if lr := e.status.LateRefund; lr != nil {
		done, err := e.payoutTurn(ctx, lr)
		if err != nil || !done {
			return true, err
		}
		e.status.LateRefunds = append(e.status.LateRefunds, *lr)
		e.status.LateRefund = nil
		workflow.GetLogger(ctx).Info("late money refunded", "tx_hashes", lr.TxHashes, "amount", lr.AmountAtomic)
		workflow.GetMetricsHandler(ctx).Counter(escrow.MetricLateRefunds).Inc(1)
		e.publish(ctx)
		return true, nil
	}
	if !now.Before(e.status.WatchUntil) {
		return false, nil
	}
	var res activities.FundingResult
	in := activities.FundingInput{EscrowID: e.in.EscrowID, Role: checkingRole, MinConfirmations: e.timing.FundingConfirmations}
	if err := workflow.ExecuteActivity(e.on(ctx, checkingRole, pollOptions()), wallet.CheckFunding, in).Get(ctx, &res); err != nil {
		workflow.GetLogger(ctx).Warn("late-money check failed; checking again later", "error", err)
		res.ConfirmedAtomic, res.PendingAtomic = e.paidOut(), 0
	}
	if paid := e.paidOut(); res.ConfirmedAtomic > paid {
		// Spendable once confirmed this deep: refund it, signed by the arbiter and the buyer.
		workflow.GetLogger(ctx).Warn("late money arrived; refunding it to the buyer", "late", res.ConfirmedAtomic-paid)
		e.status.LateRefund = &escrow.Payout{Kind: escrow.PayoutRefund, Payee: escrow.Buyer, Address: e.status.BuyerRefundAddress,
			Signers: []escrow.Role{escrow.Arbiter, escrow.Buyer}}
		e.late.poll = 0
		e.publish(ctx)
		return true, nil
	}
	// Something confirming is watched closely.
	e.late.nextPoll(res.PendingAtomic > 0, e.timing.LatePoll, e.timing.LatePollMax)
	return true, workflow.Sleep(ctx, min(e.late.poll, e.status.WatchUntil.Sub(now)))
}

// paidOut is what the escrow's payouts have taken from its address so far: everything
// that arrived beyond it is late money.
func (e *escrowFlow) paidOut() uint64 {
	var sum uint64
	add := func(p *escrow.Payout) {
		if p == nil || !p.Submitted {
			return
		}
		if p.FundedAtomic > 0 {
			sum += p.FundedAtomic
		} else {
			sum += p.AmountAtomic + p.FeeAtomic
		}
	}
	add(e.status.Payout)
	for i := range e.status.LateRefunds {
		add(&e.status.LateRefunds[i])
	}
	return sum
}
