package workflows

import (
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// changePayoutWatcher versions the block watcher's part in a payout's confirmations (issue
// 23 item 3 B): once submitted, the payout's transaction hashes are handed to the watcher
// (FollowPayout), which signals payout-seen at each new depth and when one disappears. The
// payout then waits for that signal instead of asking its wallet every PayoutPoll: it records
// the depth the watcher reports, and asks the wallet (PayoutStatus) when the watcher says it
// is deep enough or gone, or at the safety net (Timing.PayoutWatchedPoll). Everything after
// the first registration keys off Payout.Follow, which only this version sets.
const changePayoutWatcher = "payout-watcher"

// changeFollowOnSubmitter hands the payout's hashes to the block watcher from the queue of the
// signer that just submitted them, which is alive, instead of the arbiter's. A release the
// buyer and vendor signed after the arbiter's host was lost waited out FollowPayout's 10-minute
// deadline there before it was confirmed.
const changeFollowOnSubmitter = "follow-on-submitter"

// payoutSignals is the channel of the watcher's payout-seen signals.
func payoutSignals(ctx workflow.Context) workflow.ReceiveChannel {
	return workflow.GetSignalChannel(ctx, string(escrow.SignalPayoutSeen))
}

// followWithWatcher hands the escrow's payout's current hashes to the block watcher, once
// per set of hashes. Only the escrow's payout is followed (a late refund is polled): the
// watcher keeps following it through the late-money grace period.
func (e *escrowFlow) followWithWatcher(ctx workflow.Context, p *escrow.Payout) {
	if p != e.status.Payout || len(p.TxHashes) == 0 || (p.Follow != nil && slices.Equal(p.Follow.TxHashes, p.TxHashes)) {
		return
	}
	if p.Follow == nil && version(ctx, changePayoutWatcher, workflow.DefaultVersion, 1) < 1 {
		return
	}
	if p.Follow == nil {
		p.Follow = &escrow.PayoutFollow{}
	}
	f := p.Follow
	f.TxHashes, f.Following, f.Failed = slices.Clone(p.TxHashes), false, ""
	var res activities.FollowResult
	in := activities.FollowInput{EscrowID: e.in.EscrowID, TxHashes: f.TxHashes, Target: e.timing.PayoutConfirmations}
	on := checkingRole
	if version(ctx, changeFollowOnSubmitter, workflow.DefaultVersion, 1) >= 1 {
		on = p.Signers[1]
	}
	if err := workflow.ExecuteActivity(e.on(ctx, on, watchOptions()), wallet.FollowPayout, in).Get(ctx, &res); err != nil {
		f.Failed = failureReason(err)
		workflow.GetLogger(ctx).Warn("the block watcher could not follow the payout; polling it as before", "error", err)
		return
	}
	if f.Following = res.Following; !f.Following {
		f.Failed = "the watching role's worker keeps no block watches"
		return
	}
	workflow.GetLogger(ctx).Info("the block watcher follows the payout", "tx_hashes", f.TxHashes)
}

// payoutFollowed reports that the watcher follows p's current hashes.
func payoutFollowed(p *escrow.Payout) bool {
	return p.Follow != nil && p.Follow.Following && slices.Equal(p.Follow.TxHashes, p.TxHashes)
}

// awaitPayoutNews waits before the payout's next status check: PayoutPoll, or, while the
// watcher follows the payout, until it reports the payout deep enough or gone, or the safety
// net. The depths it reports before are recorded without asking any wallet.
func (e *escrowFlow) awaitPayoutNews(ctx workflow.Context, p *escrow.Payout) error {
	if !payoutFollowed(p) {
		return workflow.Sleep(ctx, e.timing.PayoutPoll)
	}
	until := workflow.Now(ctx).Add(e.timing.PayoutWatchedPoll)
	for {
		wait := until.Sub(workflow.Now(ctx))
		if wait <= 0 {
			return nil
		}
		news, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return payoutSignals(ctx).Len() > 0 })
		if err != nil || !news {
			return err
		}
		if e.takePayoutSignals(ctx, p) || e.historyFull(ctx) {
			return nil
		}
	}
}

// takePayoutSignals records the payout-seen signals received so far, and reports whether
// one says the payout is deep enough or gone: the wallet is asked then. A signal about other
// hashes (an earlier set) only counts.
func (e *escrowFlow) takePayoutSignals(ctx workflow.Context, p *escrow.Payout) (ask bool) {
	ch := payoutSignals(ctx)
	for {
		var s escrow.PayoutSeen
		if !ch.ReceiveAsync(&s) {
			return ask
		}
		if p.Follow == nil {
			continue
		}
		p.Follow.Signals++
		p.Follow.Last = &s
		if !slices.Contains(p.TxHashes, s.TxHash) {
			continue
		}
		switch {
		case s.Gone || s.Confirmations >= e.timing.PayoutConfirmations:
			workflow.GetLogger(ctx).Info("the block watcher reports the payout deep enough or gone; asking the wallet",
				"tx_hash", s.TxHash, "confirmations", s.Confirmations, "gone", s.Gone)
			ask = true
		case s.Confirmations > p.Confirmations:
			p.Confirmations = s.Confirmations
			e.publish(ctx)
		}
	}
}

// changePayoutReorged versions what the late-money watch does with the watcher's payout-seen
// signals (issue 23 item 3 C): the watcher keeps following a completed payout through the
// grace period, and a report that it is gone (reorged out, not back in the pool) wakes the
// watch, which asks the submitting wallet. If the wallet calls the payout failed, the money is
// back in the multisig: the payout is built again, as one that vanished before completion
// would be (its hashes set aside), and the escrow goes back to releasing or refunding; the
// grace period goes on after it. The watch never ends on a payout the wallet says failed.
const changePayoutReorged = "payout-reorged-after-completion"

// payoutFollowedInGrace reports that the late-money watch listens to the watcher's reports
// on the completed payout.
func (e *escrowFlow) payoutFollowedInGrace(ctx workflow.Context) bool {
	p := e.status.Payout
	if p == nil || !payoutFollowed(p) || p.Follow.Unfollowed {
		return false
	}
	return version(ctx, changePayoutReorged, workflow.DefaultVersion, 1) >= 1
}

// takeGracePayoutSignals records the payout-seen signals received during the grace period,
// and reports whether the completed payout is suspect: one said it is gone.
func (e *escrowFlow) takeGracePayoutSignals(ctx workflow.Context) bool {
	p := e.status.Payout
	ch := payoutSignals(ctx)
	for {
		var s escrow.PayoutSeen
		if !ch.ReceiveAsync(&s) {
			return p.Follow.Suspect
		}
		p.Follow.Signals++
		p.Follow.Last = &s
		if s.Gone && slices.Contains(p.TxHashes, s.TxHash) {
			workflow.GetLogger(ctx).Warn("the block watcher reports the completed payout gone; asking the wallet", "tx_hash", s.TxHash)
			p.Follow.Suspect = true
		}
	}
}

// recheckPayout asks the submitting wallet about a completed payout the watcher reported
// gone. A payout the wallet calls failed, or no longer knows, is built again (undone reports
// true); one it still knows stays the payout. A check that fails leaves it suspect, to ask again after LatePoll.
func (e *escrowFlow) recheckPayout(ctx workflow.Context, p *escrow.Payout) (undone bool, err error) {
	var st activities.TxStatusResult
	if err := workflow.ExecuteActivity(e.on(ctx, p.Signers[1], pollOptions()), wallet.PayoutStatus, e.txStatusInput(p)).Get(ctx, &st); err != nil {
		workflow.GetLogger(ctx).Warn("could not ask about the payout the watcher reports gone; asking again later", "error", err)
		return false, workflow.Sleep(ctx, e.timing.LatePoll)
	}
	p.Follow.Suspect = false
	// A wallet may forget a transaction a reorg took (it is known neither to it nor, the
	// watcher says, to monerod): that is gone too. A wrong conclusion cannot pay twice (the
	// chain refuses a second spend of the inputs); the new attempt finds nothing and parks.
	if st.Known && !st.Failed {
		workflow.GetLogger(ctx).Info("the wallet still knows the payout; it stands", "tx_hashes", p.TxHashes, "confirmations", st.Confirmations)
		return false, nil
	}
	workflow.GetLogger(ctx).Error("the completed payout was undone (reorged out, not back in the pool): the money is back in the multisig; building it again",
		"tx_hashes", p.TxHashes)
	if p.Rules >= escrow.ExactShares {
		e.setAside(p)
	} else {
		p.Submitted, p.TxHash, p.TxHashes, p.Confirmations = false, "", nil, 0
	}
	p.Rebuilds++
	p.Follow.Undone++
	again := escrow.StatusReleasing
	if p.Kind == escrow.PayoutRefund {
		again = escrow.StatusRefunding
	}
	e.setStatus(ctx, again)
	return true, nil
}
