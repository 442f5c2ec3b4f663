package workflows

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// activityTimes records the test-clock time each activity whose name ends with name starts.
// It replaces any other started-listener (lateChecks).
func (s *EscrowSuite) activityTimes(names ...string) map[string]func() []time.Time {
	var mu sync.Mutex
	at := map[string][]time.Time{}
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		for _, n := range names {
			if strings.HasSuffix(info.ActivityType.Name, n) {
				mu.Lock()
				at[n] = append(at[n], s.env.Now())
				mu.Unlock()
			}
		}
	})
	out := map[string]func() []time.Time{}
	for _, n := range names {
		out[n] = func() []time.Time {
			mu.Lock()
			defer mu.Unlock()
			return append([]time.Time(nil), at[n]...)
		}
	}
	return out
}

// payoutSignalAt sends a payout-seen signal at the given test-clock time.
func (s *EscrowSuite) payoutSignalAt(at time.Duration, p escrow.PayoutSeen) *time.Time {
	sent := new(time.Time)
	s.env.RegisterDelayedCallback(func() {
		*sent = s.env.Now()
		s.env.SignalWorkflow(string(escrow.SignalPayoutSeen), p)
	}, at)
	return sent
}

// TestAPayoutIsConfirmedByTheWatchersSignalNotItsPoll: the watcher follows the submitted
// payout. Its report of a depth below the target is recorded without asking any wallet; its
// report of the target depth makes the escrow ask the wallet that moment, which confirms it.
// Between them, no status check but the first.
func (s *EscrowSuite) TestAPayoutIsConfirmedByTheWatchersSignalNotItsPoll() {
	s.watch.follow = true
	times := s.activityTimes("PayoutStatus", "SubmitPayout")
	shallow := s.payoutSignalAt(hour+3*time.Minute, escrow.PayoutSeen{TxHash: "hash-1", Confirmations: 7})
	deep := s.payoutSignalAt(hour+8*time.Minute, escrow.PayoutSeen{TxHash: "hash-1", Confirmations: 10})
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("followed", escrow.EscrowInput{Timing: escrow.Timing{LateMoneyGrace: time.Minute}})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	submits := times["SubmitPayout"]()
	s.Require().Len(submits, 1)
	s.Require().True(submits[0].Before(*shallow), "submitted at %s, before the first signal", submits[0])
	checks := since(times["PayoutStatus"](), submits[0])
	s.Require().Len(checks, 2, "one check after the submit, one when the watcher says it is deep: %v", checks)
	s.True(checks[1].Equal(*deep), "the second check at the deep signal")
	s.False(hasTime(checks, *shallow), "a shallow depth asks no wallet")
	s.Equal([][]string{{"hash-1"}}, s.watch.follows, "the payout's hashes were followed")
	f := st.Payout.Follow
	s.Require().NotNil(f)
	s.True(f.Following)
	s.Equal(2, f.Signals)
	s.True(f.Unfollowed, "no longer followed once the escrow's watch ended")
	s.Len(s.watch.unwatches, 1, "unwatched at the end (the registration is kept through the payout), which ends the following")
}

// TestThePayoutIsFollowedFromTheSubmittersQueueNotTheArbiters: the hashes go to the block
// watcher from the queue of the signer that submitted them. On the arbiter's queue, a release
// the buyer and vendor signed while the arbiter's host was down waited out FollowPayout's
// deadline before anything confirmed it.
func (s *EscrowSuite) TestThePayoutIsFollowedFromTheSubmittersQueueNotTheArbiters() {
	s.watch.follow = true
	s.payoutSignalAt(hour+8*time.Minute, escrow.PayoutSeen{TxHash: "hash-1", Confirmations: 10})
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("followed-by-submitter", escrow.EscrowInput{Timing: escrow.Timing{LateMoneyGrace: time.Minute}})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	submitter := st.Payout.Signers[1]
	s.Require().NotEqual(escrow.Arbiter, submitter, "a confirmed receipt is signed by the buyer and the vendor")
	s.Equal([]string{escrow.WalletTaskQueue(st.Assignment.For(submitter))}, s.watch.followQueues)
}

// TestAnUnfollowedPayoutPollsAsBefore: where no watcher runs, the payout's status is asked
// every PayoutPoll, as before.
func (s *EscrowSuite) TestAnUnfollowedPayoutPollsAsBefore() {
	s.money.confirmationsPerCheck = 1
	times := s.activityTimes("PayoutStatus", "SubmitPayout")
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	_, st := s.runLifecycle("polled", escrow.EscrowInput{Timing: escrow.Timing{LateMoneyGrace: time.Minute}})
	s.Require().NoError(s.env.GetWorkflowError())
	checks := since(times["PayoutStatus"](), times["SubmitPayout"]()[0])
	s.Len(checks, 10, "ten checks, one per confirmation")
	for i := 1; i < len(checks); i++ {
		s.Equal(30*time.Second, checks[i].Sub(checks[i-1]))
	}
	s.Require().NotNil(st.Payout.Follow)
	s.False(st.Payout.Follow.Following)
}

// TestAPayoutReorgedOutAfterCompletionIsNoticedAndPaidAgain: two days into the grace period
// the watcher reports the completed release gone (a reorg took its block, and it is not back
// in the pool); the wallet calls it failed, so the money is back in the multisig. The escrow
// goes back to releasing, builds and submits the release again, completes, and watches out
// the rest of its grace period.
func (s *EscrowSuite) TestAPayoutReorgedOutAfterCompletionIsNoticedAndPaidAgain() {
	s.payoutUndone(false)
}

// TestAPayoutTheWalletForgotAfterAReorgIsPaidAgain: the same, when the wallet no longer
// knows the payout at all (a reorg took it) instead of calling it failed.
func (s *EscrowSuite) TestAPayoutTheWalletForgotAfterAReorgIsPaidAgain() {
	s.payoutUndone(true)
}

// payoutUndone runs the completed release that a reorg undoes two days into the grace
// period: the wallet calls it failed, or (forgot) no longer knows it.
func (s *EscrowSuite) payoutUndone(forgot bool) {
	s.watch.follow, s.watch.late = true, true
	times := s.activityTimes("PayoutStatus", "SubmitPayout")
	var undoneAt time.Time
	s.env.RegisterDelayedCallback(func() {
		s.Require().Equal(escrow.StatusCompleted, s.status().Status, "completed before the reorg")
		s.money.mu.Lock()
		if forgot {
			s.money.forgotten = map[string]bool{"hash-1": true}
		} else {
			s.money.vanished = map[string]bool{"hash-1": true}
		}
		s.money.swept -= s.money.lastFunded // the money is back at the address
		s.money.mu.Unlock()
		undoneAt = s.env.Now()
		s.env.SignalWorkflow(string(escrow.SignalPayoutSeen), escrow.PayoutSeen{TxHash: "hash-1", Gone: true})
	}, 2*day)
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("undone", escrow.EscrowInput{})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.True(hasTime(times["PayoutStatus"](), undoneAt), "the wallet is asked the moment the watcher reports it gone")
	submits := times["SubmitPayout"]()
	s.Require().Len(submits, 2, "the release was submitted again")
	s.False(submits[1].Before(undoneAt))
	s.Equal([]string{"hash-2"}, st.Payout.TxHashes, "the payout that counts is the new one")
	s.Equal([][]string{{"hash-1"}}, st.Payout.Earlier, "the undone one is kept")
	s.Require().NotNil(st.Payout.Follow)
	s.Equal(1, st.Payout.Follow.Undone)
	s.Equal([][]string{{"hash-1"}, {"hash-2"}}, s.watch.follows, "the new hashes are followed")
	s.False(s.env.Now().Before(st.WatchUntil), "the watch went on to the grace period's end")
	s.Empty(st.LateRefunds, "the money went to the vendor, not back as late money")
}

// TestAPayoutReportedGoneThatTheWalletStillKnowsStands: the watcher's report alone never
// undoes a payout.
func (s *EscrowSuite) TestAPayoutReportedGoneThatTheWalletStillKnowsStands() {
	s.watch.follow, s.watch.late = true, true
	times := s.activityTimes("SubmitPayout")
	s.payoutSignalAt(2*day, escrow.PayoutSeen{TxHash: "hash-1", Gone: true})
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("stands", escrow.EscrowInput{})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Len(times["SubmitPayout"](), 1)
	s.Equal([]string{"hash-1"}, st.Payout.TxHashes)
	s.Zero(st.Payout.Follow.Undone)
	s.False(st.Payout.Follow.Suspect)
}
