package main

import (
	"context"
	"fmt"
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
)

// lifeTiming is the integration tests' quickTiming: polls and retries of a second or two, so
// that a lifecycle measures the product's work, not its production back-offs. The late-money
// watch's polls are held off (LatePoll 1h, as the integration benchmark cpuPerPhase does), so
// that a finished escrow's checks do not land in the next one's phases.
func lifeTiming() escrow.Timing {
	return escrow.Timing{FundingPoll: time.Second, FundingPollMax: 2 * time.Second, PayoutPoll: time.Second,
		PayoutRetry: 2 * time.Second, PayoutRetryMax: 4 * time.Second, LatePoll: time.Hour, LatePollMax: time.Hour,
		LateMoneyGrace: 24 * time.Hour}
}

// lifeWait is how often a lifecycle asks the escrow's state, as the integration tests do.
const lifeWait = 500 * time.Millisecond

// lifecycle runs one whole escrow on the product: start, Ready, the chain pays and confirms,
// funded, the decision (confirm-receipt by the buyer for a release, agree-refund by the
// vendor for a refund, as the integration tests decide them), payout submitted, the chain
// confirms, completed or refunded, then the after-completion window. The escrow is
// terminated at the end, so nothing of it runs into the next one.
func (o *ours) lifecycle(ctx context.Context, chain *devstack.Chain, id, kind string, pay payees, after time.Duration) (lifeRun, error) {
	defer o.terminate([]escrowRun{{id: id}})
	m, err := newPhaseMeter(o.walletRPCPids, o.workerOpens)
	if err != nil {
		return lifeRun{}, err
	}
	in := input(id, 0, 0)
	in.AmountAtomic, in.VendorPayoutAddress, in.BuyerRefundAddress, in.Timing = lifePrice, pay.vendor, pay.buyer, lifeTiming()
	if _, err := o.s.Starter.Start(ctx, in); err != nil {
		return lifeRun{}, fmt.Errorf("start: %w", err)
	}
	st, err := o.s.Starter.WaitReady(ctx, id)
	if err != nil {
		return lifeRun{}, fmt.Errorf("wait ready: %w", err)
	}
	if err := m.lap(phaseSetup); err != nil {
		return lifeRun{}, err
	}

	if _, err := chain.Pay(ctx, st.Address, lifePrice); err != nil {
		return lifeRun{}, fmt.Errorf("pay the escrow: %w", err)
	}
	if err := chain.Mine(ctx, lifeConfirmations); err != nil {
		return lifeRun{}, err
	}
	if _, err := o.s.Starter.WaitUntil(ctx, id, lifeWait, func(st escrow.State) bool { return st.Status == escrow.StatusFunded }); err != nil {
		return lifeRun{}, fmt.Errorf("wait funded: %w", err)
	}
	if err := m.lap(phaseFunding); err != nil {
		return lifeRun{}, err
	}

	update, by, final := escrow.UpdateConfirmReceipt, escrow.Buyer, escrow.StatusCompleted
	if kind == kindRefund {
		update, by, final = escrow.UpdateAgreeRefund, escrow.Vendor, escrow.StatusRefunded
	}
	decided := time.Now()
	if _, err := o.s.Starter.Decide(ctx, id, update, decisionBy(by)); err != nil {
		return lifeRun{}, fmt.Errorf("decide %s: %w", update, err)
	}
	if _, err := o.s.Starter.WaitUntil(ctx, id, lifeWait, func(st escrow.State) bool { return st.Payout != nil && st.Payout.Submitted }); err != nil {
		return lifeRun{}, fmt.Errorf("wait payout submitted: %w", err)
	}
	m.run.decisionToSubmitted = time.Since(decided)
	if err := chain.Mine(ctx, lifeConfirmations); err != nil {
		return lifeRun{}, err
	}
	if _, err := o.s.Starter.WaitUntil(ctx, id, lifeWait, func(st escrow.State) bool { return st.Status == final }); err != nil {
		return lifeRun{}, fmt.Errorf("wait %s: %w", final, err)
	}
	if err := m.lap(phasePayout); err != nil {
		return lifeRun{}, err
	}
	if err := idle(ctx, after); err != nil {
		return lifeRun{}, err
	}
	if err := m.lap(phaseAfter); err != nil {
		return lifeRun{}, err
	}
	return m.run, nil
}

// decisionBy is a decision of role by the party input names for it.
func decisionBy(role escrow.Role) escrow.DecisionInput {
	ids := map[escrow.Role]string{escrow.Buyer: "buyer-7", escrow.Vendor: "vendor-8", escrow.Arbiter: "arbiter-9"}
	return escrow.DecisionInput{Role: role, ActorID: ids[role]}
}
