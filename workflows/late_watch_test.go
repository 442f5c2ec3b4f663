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

// lateChecks records the test-clock time of every funding check (the late-money watch's
// checks are CheckFunding too).
func (s *EscrowSuite) lateChecks() func() []time.Time {
	var mu sync.Mutex
	var at []time.Time
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if strings.HasSuffix(info.ActivityType.Name, "CheckFunding") {
			mu.Lock()
			at = append(at, s.env.Now())
			mu.Unlock()
		}
	})
	return func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Time(nil), at...)
	}
}

// since keeps the times at or after from.
func since(ts []time.Time, from time.Time) []time.Time {
	var out []time.Time
	for _, t := range ts {
		if !t.Before(from) {
			out = append(out, t)
		}
	}
	return out
}

// hasTime reports whether ts holds the instant t, whatever its location.
func hasTime(ts []time.Time, t time.Time) bool {
	for _, x := range ts {
		if x.Equal(t) {
			return true
		}
	}
	return false
}

// TestALatePaymentSeenByTheWatcherIsCheckedAtOnce: two days into the grace period a late
// payment arrives and the watcher signals it; the escrow asks its wallet that very moment and
// refunds it. The watch took the funding wait's registration over, and is unwatched at its end.
func (s *EscrowSuite) TestALatePaymentSeenByTheWatcherIsCheckedAtOnce() {
	const late = 200_000_000_000
	s.watch.late = true
	s.money.late = late
	s.money.lateAt = time.Unix(1<<40, 0) // not yet
	checks := s.lateChecks()
	seen := escrow.PaymentSeen{TxHash: seenHash, AmountAtomic: late, Height: 700}
	sent := s.signalAt(2*day, seen, s.lateArrivesNow)
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("late-seen", escrow.EscrowInput{})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.True(hasTime(checks(), *sent), "a check at the very time of the signal")
	s.Require().Len(st.LateRefunds, 1, "the late money is refunded")
	s.Equal(uint64(late), st.LateRefunds[0].FundedAtomic)
	w := st.LateWatch
	s.Require().NotNil(w)
	s.True(w.Registered)
	s.True(w.Adopted)
	s.EqualValues(290, w.FromHeight, "the funding wait's registration")
	s.Equal([]escrow.PaymentSeen{seen}, w.Seen)
	s.True(w.Unwatched)
	s.Empty(s.watch.lateRegs, "no second registration: no wallet opened for it")
	s.Require().Len(s.watch.unwatches, 1, "unwatched once, when the grace ended")
	s.False(s.watch.unwatches[0].Before(st.WatchUntil), "the late watch is unwatched at its very end")
}

// TestWhileTheWatcherVouchesTheGraceCostsOnlyTheLastLook: with nothing arriving and the
// watcher's records vouching for the address, the late watch asks no wallet when it starts nor
// at its daily safety net (it asks the records), and takes the last look at the grace period's
// end: one wallet check a week, instead of the back-off's 37.
func (s *EscrowSuite) TestWhileTheWatcherVouchesTheGraceCostsOnlyTheLastLook() {
	checks := s.lateChecks()
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("late-vouched", escrow.EscrowInput{})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	start := st.WatchUntil.Add(-7 * day)
	grace := since(checks(), start)
	s.Require().Len(grace, 1, "the last look alone: %v", grace)
	s.True(grace[0].Equal(st.WatchUntil), "at the grace period's end")
	s.Require().Len(s.watch.healthAsks, 7, "the start and six daily safety nets ask the watcher's records")
	for i, at := range s.watch.healthAsks {
		s.True(at.Equal(start.Add(time.Duration(i)*escrow.DefaultLateSafetyNet)), "ask %d at %s", i, at)
	}
	s.Equal(7, st.LateWatch.Vouched)
	s.True(st.LateWatch.HealthNet)
	s.Nil(st.Leftover)
}

// TestAStalledWatcherMakesTheSafetyNetAskTheWallet: when the watcher's records do not vouch
// for the address (its newest block is two hours old), the late watch asks its wallet when it
// starts and once a day, as before, and takes the last look: nine checks a week at most.
func (s *EscrowSuite) TestAStalledWatcherMakesTheSafetyNetAskTheWallet() {
	s.watch.stalled = true
	checks := s.lateChecks()
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("late-stalled", escrow.EscrowInput{})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	grace := since(checks(), st.WatchUntil.Add(-7*day))
	s.Require().NotEmpty(grace)
	s.Len(grace, 8, "the start, six safety nets and the last look: %v", grace)
	s.Zero(st.LateWatch.Vouched)
	for i := 1; i < len(grace); i++ {
		s.Equal(escrow.DefaultLateSafetyNet, grace[i].Sub(grace[i-1]).Truncate(time.Minute),
			"no check but the daily safety net (check %d of %v)", i, grace)
	}
	s.True(grace[len(grace)-1].Equal(st.WatchUntil), "the last look is at the grace period's end")
	s.Nil(st.Leftover)
}

// TestTheLastLookFindsMoneyFromTheGracesLastHours: a late payment arrives three hours before
// the grace period ends and its sighting is lost (the watcher was down). The daily safety net
// is past; the last look at the end finds it, and it is refunded before the watch ends.
func (s *EscrowSuite) TestTheLastLookFindsMoneyFromTheGracesLastHours() {
	const late = 100_000_000_000
	s.watch.late = true
	s.money.late = late
	checks := s.lateChecks()
	s.env.RegisterDelayedCallback(func() {
		until := s.status().WatchUntil
		s.Require().False(until.IsZero(), "the watch has started")
		s.money.mu.Lock()
		s.money.lateAt = until.Add(-3 * hour)
		s.money.mu.Unlock()
	}, day)
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("last-hours", escrow.EscrowInput{})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Require().Len(st.LateRefunds, 1, "refunded by the last look")
	s.Equal(uint64(late-fee), st.LateRefunds[0].AmountAtomic)
	s.True(hasTime(checks(), st.WatchUntil), "the last look, at the grace period's end")
	s.Zero(st.LateWatch.Signals, "no signal: the last look found it alone")
	s.Require().Len(s.watch.unwatches, 1)
}

// TestATimeLockedLatePaymentSeenByTheWatcherCostsNoCheck: a sighting of a payment locked far
// beyond the grace period is recorded and asks no wallet; the last look lists it as leftover.
func (s *EscrowSuite) TestATimeLockedLatePaymentSeenByTheWatcherCostsNoCheck() {
	s.watch.late = true
	checks := s.lateChecks()
	locked := escrow.PaymentSeen{TxHash: seenHash, AmountAtomic: price, Height: 700, UnlockTime: 100_000}
	at := s.signalAt(3*day+time.Minute, locked, nil)
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	_, st := s.runLifecycle("late-locked", escrow.EscrowInput{})
	s.Require().NoError(s.env.GetWorkflowError())
	s.False(hasTime(checks(), *at), "no check for a time-locked payment")
	s.Require().NotNil(st.LateWatch)
	s.Equal(1, st.LateWatch.TimeLocked)
	s.Equal(1, st.LateWatch.Signals)
}

// TestAnUnregisteredLateWatchPollsAsBefore: a worker that keeps no watches leaves the late
// watch on its old back-off (to LatePollMax, 6 h), with nothing to unwatch.
func (s *EscrowSuite) TestAnUnregisteredLateWatchPollsAsBefore() {
	s.watch.none = true
	checks := s.lateChecks()
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	_, st := s.runLifecycle("late-polled", escrow.EscrowInput{})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Require().Len(s.watch.lateRegs, 1, "asked once")
	s.Require().NotNil(st.LateWatch)
	s.False(st.LateWatch.Registered)
	s.Greater(len(since(checks(), s.watch.lateRegs[0])), 30, "the old back-off")
	s.Empty(s.watch.unwatches, "nothing was registered")
}

// TestASightingDuringThePayoutIsCheckedWhenTheGraceStarts: the watcher keeps the address
// through the payout, and a payment it sees while the release is confirming is not lost to
// the adopted registration: the late watch asks its wallet the moment it starts, and refunds it.
func (s *EscrowSuite) TestASightingDuringThePayoutIsCheckedWhenTheGraceStarts() {
	const late = 200_000_000_000
	s.money.late = late
	s.money.lateAt = time.Unix(1<<40, 0) // not yet
	checks := s.lateChecks()
	var during escrow.Status
	seen := escrow.PaymentSeen{TxHash: seenHash, AmountAtomic: late, Height: 650}
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	s.signalAt(hour+time.Second, seen, func() {
		during = s.status().Status
		s.lateArrivesNow()
	})
	res, st := s.runLifecycle("seen-in-payout", escrow.EscrowInput{})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Equal(escrow.StatusReleasing, during, "the sighting came during the payout")
	w := st.LateWatch
	s.Require().NotNil(w)
	s.True(w.Adopted)
	s.Equal([]escrow.PaymentSeen{seen}, w.Seen, "the sighting reached the late watch")
	start := st.WatchUntil.Add(-7 * day)
	s.True(hasTime(checks(), start), "a wallet check when the grace started: %v", checks())
	s.False(hasTime(s.watch.healthAsks, start), "not the watcher's records first")
	s.Require().Len(st.LateRefunds, 1, "the late money is refunded")
	s.Equal(uint64(late), st.LateRefunds[0].FundedAtomic)
}

// TestATimeLockedLatePaymentIsRefundedWhenItUnlocksNotAtTheLastLook: the watcher reports a
// time-locked payment once, when it is mined, not when it unlocks. Its sighting asks no wallet,
// but from then on the watcher's records no longer stand in for the daily safety net: the
// wallet is asked, and the payment is refunded at the first safety net after it unlocked.
func (s *EscrowSuite) TestATimeLockedLatePaymentIsRefundedWhenItUnlocksNotAtTheLastLook() {
	const late = 200_000_000_000
	s.money.late = late
	s.money.lateAt = time.Unix(1<<40, 0) // locked until then
	checks := s.lateChecks()
	locked := escrow.PaymentSeen{TxHash: seenHash, AmountAtomic: late, Height: 700, UnlockTime: 100_000}
	at := s.signalAt(2*day, locked, nil)
	s.env.RegisterDelayedCallback(s.lateArrivesNow, 4*day) // it unlocks on the fourth day
	refundedByDay6 := -1
	s.env.RegisterDelayedCallback(func() { refundedByDay6 = len(s.status().LateRefunds) }, 6*day)
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	_, st := s.runLifecycle("late-unlocks", escrow.EscrowInput{})
	s.Require().NoError(s.env.GetWorkflowError())
	s.False(hasTime(checks(), *at), "no check at the sighting of a locked payment")
	s.Require().Len(st.LateRefunds, 1)
	s.Equal(1, refundedByDay6, "refunded at the first safety net after it unlocked, not at the last look")
	s.Equal(1, st.LateWatch.TimeLocked)
}

// lateArrivesNow makes the wallet see the late payment from this moment of the test clock.
func (s *EscrowSuite) lateArrivesNow() {
	s.money.mu.Lock()
	s.money.lateAt = s.env.Now()
	s.money.mu.Unlock()
}
