package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
)

// lifeTiming polls at the script's period (lifePoll), so that a lifecycle measures the
// product's work, not its production back-offs; the block watcher polls at it too. Funding
// and payout waits then learn of a block about as soon as the script does; with the
// watcher's reports they need no poll at all. The late-money watch's polls are held off
// (LatePoll 1h, as the integration benchmark cpuPerPhase does), so that a finished escrow's
// checks do not land in the next one's phases.
func lifeTiming() escrow.Timing {
	return escrow.Timing{FundingPoll: lifePoll, FundingPollMax: 2 * lifePoll, PayoutPoll: lifePoll,
		PayoutRetry: 2 * time.Second, PayoutRetryMax: 4 * time.Second, LatePoll: time.Hour, LatePollMax: time.Hour,
		LateMoneyGrace: 24 * time.Hour}
}

// lifecycle runs whole escrows on the product, all of ids at once, phase by phase: start,
// Ready, the chain pays each and confirms, funded, the decisions (confirm-receipt by the
// buyer for a release, agree-refund by the vendor for a refund, as the integration tests
// decide them), payouts submitted, the chain confirms, completed or refunded, then the
// after-completion window. Every escrow is terminated at the end, so nothing of it runs into
// the next lifecycle.
func (o *ours) lifecycle(ctx context.Context, chain *devstack.Chain, ids, kinds []string, pay payees, after time.Duration) (lifeRun, error) {
	runs := make([]escrowRun, len(ids))
	for i, id := range ids {
		runs[i].id = id
	}
	defer o.terminate(runs)
	m, err := newPhaseMeter(o.walletRPCPids, o.workerOpens)
	if err != nil {
		return lifeRun{}, err
	}
	addrs := make([]string, len(ids))
	if err := eachOf(ids, func(i int, id string) error {
		in := input(id, 0, 0)
		in.AmountAtomic, in.VendorPayoutAddress, in.BuyerRefundAddress, in.Timing = lifePrice, pay.vendor, pay.buyer, lifeTiming()
		if _, err := o.s.Starter.Start(ctx, in); err != nil {
			return fmt.Errorf("start: %w", err)
		}
		st, err := o.s.Starter.WaitReady(ctx, id)
		if err != nil {
			return fmt.Errorf("wait ready: %w", err)
		}
		addrs[i] = st.Address
		return nil
	}); err != nil {
		return lifeRun{}, err
	}
	if err := m.lap(phaseSetup); err != nil {
		return lifeRun{}, err
	}

	if err := payAndMine(ctx, chain, addrs); err != nil {
		return lifeRun{}, err
	}
	mined := time.Now()
	if err := eachOf(ids, func(_ int, id string) error {
		_, err := o.s.Starter.WaitUntil(ctx, id, lifePoll, func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
		return wrap("wait funded", err)
	}); err != nil {
		return lifeRun{}, err
	}
	m.run.minedToFunded = time.Since(mined)
	for _, id := range ids {
		tr, err := traceFunding(ctx, o.s.Client, id, mined)
		if err != nil {
			return lifeRun{}, err
		}
		m.run.fundings = append(m.run.fundings, tr)
	}
	if err := m.lap(phaseFunding); err != nil {
		return lifeRun{}, err
	}

	callsBefore, err := gatherCalls(o.s.Metrics.Registry)
	if err != nil {
		return lifeRun{}, err
	}
	if err := eachOf(ids, func(i int, id string) error {
		update, by := escrow.UpdateConfirmReceipt, escrow.Buyer
		if kinds[i] == kindRefund {
			update, by = escrow.UpdateAgreeRefund, escrow.Vendor
		}
		if _, err := o.s.Starter.Decide(ctx, id, update, decisionBy(by)); err != nil {
			return fmt.Errorf("decide %s: %w", update, err)
		}
		_, err := o.s.Starter.WaitUntil(ctx, id, lifePoll, func(st escrow.State) bool { return st.Payout != nil && st.Payout.Submitted })
		return wrap("wait payout submitted", err)
	}); err != nil {
		return lifeRun{}, err
	}
	callsAfter, err := gatherCalls(o.s.Metrics.Registry)
	if err != nil {
		return lifeRun{}, err
	}
	m.run.calls = callsAfter.since(callsBefore).per(len(ids))
	// The history's timestamps, not the polls': the state is asked every lifePoll, which
	// would add up to that much to ours alone.
	submitted := make([]time.Duration, len(ids))
	m.run.traces = make([]payoutTrace, len(ids))
	for i, id := range ids {
		tr, err := tracePayout(ctx, o.s.Client, id)
		if err != nil {
			return lifeRun{}, err
		}
		m.run.traces[i], submitted[i] = tr, tr.total
	}
	m.run.decisionToSubmitted = slices.Max(submitted)
	if err := chain.Mine(ctx, lifeConfirmations); err != nil {
		return lifeRun{}, err
	}
	if err := eachOf(ids, func(i int, id string) error {
		final := escrow.StatusCompleted
		if kinds[i] == kindRefund {
			final = escrow.StatusRefunded
		}
		_, err := o.s.Starter.WaitUntil(ctx, id, lifePoll, func(st escrow.State) bool { return st.Status == final })
		return wrap("wait "+string(final), err)
	}); err != nil {
		return lifeRun{}, err
	}
	return m.finish(ctx, after)
}

// decisionBy is a decision of role by the party input names for it.
func decisionBy(role escrow.Role) escrow.DecisionInput {
	ids := map[escrow.Role]string{escrow.Buyer: "buyer-7", escrow.Vendor: "vendor-8", escrow.Arbiter: "arbiter-9"}
	return escrow.DecisionInput{Role: role, ActorID: ids[role]}
}
