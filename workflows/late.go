package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// changeLateMoney versions the grace period after the final status, during which the escrow
// keeps watching its address and refunds whatever arrives.
const changeLateMoney = "late-money-watch"

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
	switch paid := e.paidOut(); {
	case res.ConfirmedAtomic > paid:
		// Spendable once confirmed this deep: refund it, signed by the arbiter and the buyer.
		workflow.GetLogger(ctx).Warn("late money arrived; refunding it to the buyer", "late", res.ConfirmedAtomic-paid)
		e.status.LateRefund = &escrow.Payout{Kind: escrow.PayoutRefund, Payee: escrow.Buyer, Address: e.status.BuyerRefundAddress,
			Signers: []escrow.Role{escrow.Arbiter, escrow.Buyer}}
		e.latePoll = 0
		e.publish(ctx)
		return true, nil
	case res.PendingAtomic > 0 || e.latePoll == 0:
		e.latePoll = e.timing.LatePoll // something is confirming: watch it closely
	default:
		e.latePoll = min(2*e.latePoll, e.timing.LatePollMax)
	}
	return true, workflow.Sleep(ctx, min(e.latePoll, e.status.WatchUntil.Sub(now)))
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
