package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// legacyPayout is the payout of escrows whose payout began before changePayoutParks: it
// replays their recorded histories command for command. New payouts never take it.
func (e *escrowFlow) legacyPayout(ctx workflow.Context, p *escrow.Payout) error {
	if !p.Submitted {
		err := e.legacySendPayout(ctx, p)
		if errors.Is(err, errNotYet) {
			return nil // the lifecycle comes back here, after a continue-as-new if due
		}
		if err != nil {
			e.status.Reason = "payout failed: " + failureReason(err)
			workflow.GetLogger(ctx).Error("payout failed; the funds stay in the multisig", "reason", e.status.Reason)
			e.publish(ctx)
			e.awaitProjections(ctx)
			return temporal.NewNonRetryableApplicationError("escrow payout failed", escrow.ErrTypePayoutFailed, err)
		}
	}
	deep, _, err := e.confirmPayout(ctx, p)
	if err != nil || !deep {
		return err
	}
	e.settled(ctx, p)
	return nil
}

// legacySendPayout builds, checks, signs and submits, rebuilding from the export/import
// after a stale multisig state, at most maxPayoutAttempts times.
func (e *escrowFlow) legacySendPayout(ctx workflow.Context, p *escrow.Payout) error {
	for {
		if version(ctx, changeWaitForUnlock, workflow.DefaultVersion, 1) == 1 && !e.unlocked(ctx, p.Signers[0]) {
			if err := workflow.Sleep(ctx, e.timing.PayoutPoll); err != nil {
				return err
			}
			if e.historyFull(ctx) {
				return errNotYet
			}
			continue
		}
		p.Attempts++
		err := e.tryPayout(ctx, p, false)
		if err == nil || !isType(err, escrow.ErrTypeStale) || p.Attempts >= maxPayoutAttempts {
			return err
		}
		workflow.GetLogger(ctx).Warn("payout attempt found stale multisig state; syncing again", "attempt", p.Attempts)
		if err := workflow.Sleep(ctx, e.timing.PayoutPoll); err != nil {
			return err
		}
	}
}

// unlocked reports whether the escrow holds spendable funds; a failed check says no.
func (e *escrowFlow) unlocked(ctx workflow.Context, r escrow.Role) bool {
	var funds activities.BalanceResult
	err := workflow.ExecuteActivity(e.on(ctx, r, pollOptions()), wallet.SpendableBalance, e.walletInput(r)).Get(ctx, &funds)
	return err == nil && funds.UnlockedAtomic > 0
}
