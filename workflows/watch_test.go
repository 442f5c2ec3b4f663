package workflows

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/activities/projection"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// fakeWatcher answers the block watcher's steps: a registration that succeeds (or fails, with
// fail set) and the unwatch, recording when each ran on the test clock.
type fakeWatcher struct {
	s    *EscrowSuite
	mu   sync.Mutex
	fail bool
	// late lets a finished escrow register for its late-money watch; without it, that
	// registration answers as a worker that keeps no watches, and the watch polls. none makes
	// the funding wait's registration answer so too.
	late, none bool
	lateRegs   []time.Time
	// follow lets the watcher follow payouts; follows lists the hashes it was given.
	follow    bool
	follows   [][]string
	registers []activities.RegisterWatchInput
	queues    []string
	unwatches []time.Time
	// stalled: the watcher's records do not vouch for any address (WatchHealth);
	// healthAsks are the times they were asked.
	stalled    bool
	healthAsks []time.Time
	// followQueues are the task queues FollowPayout ran on.
	followQueues []string
	// fundingFollows are FollowFunding's inputs, fundingQueues where it ran; noFunding makes it
	// answer as a worker that keeps no watches.
	fundingFollows []activities.FollowInput
	fundingQueues  []string
	noFunding      bool
}

// install mocks RegisterWatch and Unwatch.
func (w *fakeWatcher) install(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(wallet.RegisterWatch, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.RegisterWatchInput) (activities.RegisterWatchResult, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			if in.Late {
				w.lateRegs = append(w.lateRegs, w.s.env.Now())
				if !w.late {
					return activities.RegisterWatchResult{}, nil
				}
				return activities.RegisterWatchResult{Registered: true, FromHeight: 590, Height: 600}, nil
			}
			w.registers = append(w.registers, in)
			w.queues = append(w.queues, activity.GetInfo(ctx).TaskQueue)
			if w.none {
				return activities.RegisterWatchResult{}, nil
			}
			if w.fail {
				return activities.RegisterWatchResult{}, temporal.NewNonRetryableApplicationError("the database refused", escrow.ErrTypeInvalidInput, nil)
			}
			return activities.RegisterWatchResult{Registered: true, FromHeight: 290, Height: 300}, nil
		}).Maybe()
	env.OnActivity(wallet.FollowPayout, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.FollowInput) (activities.FollowResult, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.follows = append(w.follows, in.TxHashes)
			w.followQueues = append(w.followQueues, activity.GetInfo(ctx).TaskQueue)
			return activities.FollowResult{Following: w.follow}, nil
		}).Maybe()
	env.OnActivity(wallet.FollowFunding, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.FollowInput) (activities.FollowResult, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.fundingFollows = append(w.fundingFollows, in)
			w.fundingQueues = append(w.fundingQueues, activity.GetInfo(ctx).TaskQueue)
			return activities.FollowResult{Following: !w.noFunding}, nil
		}).Maybe()
	env.OnActivity(projector.WatchHealth, mock.Anything, mock.Anything).Return(
		func(context.Context, projection.WatchHealthInput) (projection.WatchHealthResult, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.healthAsks = append(w.healthAsks, w.s.env.Now())
			if w.stalled {
				return projection.WatchHealthResult{Reason: "the watcher's newest block was scanned 2h0m0s ago", Height: 700}, nil
			}
			return projection.WatchHealthResult{Vouches: true, Height: 700}, nil
		}).Maybe()
	env.OnActivity(projector.Unwatch, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in projection.UnwatchInput) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.unwatches = append(w.unwatches, w.s.env.Now())
			return nil
		}).Maybe()
}

// checkTimes mocks CheckFunding (ahead of fakeMoney's) to record the test-clock time of each
// check; the wallet answers what s.money.paid says, as fakeMoney's would.
func (s *EscrowSuite) checkTimes() func() []time.Time {
	var mu sync.Mutex
	var at []time.Time
	s.env.OnActivity(wallet.CheckFunding, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.FundingInput) (activities.FundingResult, error) {
			mu.Lock()
			at = append(at, s.env.Now())
			mu.Unlock()
			c, p := s.money.paid(0)
			return activities.FundingResult{ConfirmedAtomic: c, PendingAtomic: p}, nil
		})
	return func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(at)
	}
}

// paidFrom makes the wallet see the full payment once pay() was called.
func (s *EscrowSuite) paidFrom() (pay func()) {
	var mu sync.Mutex
	paid := false
	s.money.paid = func(int) (uint64, uint64) {
		mu.Lock()
		defer mu.Unlock()
		if paid {
			return price, 0
		}
		return 0, 0
	}
	return func() { mu.Lock(); paid = true; mu.Unlock() }
}

// signalAt sends a payment-seen signal at the given test-clock time, first running before
// (the payment reaching the wallet), and returns when it was sent.
func (s *EscrowSuite) signalAt(at time.Duration, p escrow.PaymentSeen, before func()) *time.Time {
	sent := new(time.Time)
	s.env.RegisterDelayedCallback(func() {
		if before != nil {
			before()
		}
		*sent = s.env.Now()
		s.env.SignalWorkflow(string(escrow.SignalPaymentSeen), p)
	}, at)
	return sent
}

const seenHash = "5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e"

// TestASightingChecksTheWalletAtOnce: three hours in, the registered escrow's next poll is
// an hour away; the watcher's signal makes it ask the wallet that very moment, and it is
// funded then. The sighting is in the status; the registration is kept through the payout
// for the late-money watch, and taken off the watcher when that ends.
func (s *EscrowSuite) TestASightingChecksTheWalletAtOnce() {
	checks := s.checkTimes()
	sent := s.signalAt(3*hour, escrow.PaymentSeen{TxHash: seenHash, AmountAtomic: price, Height: 400}, s.paidFrom())
	s.decide(5*hour, escrow.UpdateAgreeRefund, asVendor)
	res, st := s.runLifecycle("seen", escrow.EscrowInput{})
	s.Equal(escrow.StatusRefunded, res.Status)
	s.Contains(checks(), *sent, "a check at the very time of the signal")
	s.True(sent.Equal(st.Funding.FundedAt), "funded by that check, at %s, not %s", sent, st.Funding.FundedAt)
	w := st.Funding.Watch
	s.Require().NotNil(w)
	s.True(w.Registered)
	s.EqualValues(290, w.FromHeight)
	s.Equal(1, w.Signals)
	s.Equal([]escrow.PaymentSeen{{TxHash: seenHash, AmountAtomic: price, Height: 400}}, w.Seen)
	s.True(w.Kept, "kept through the payout (changeKeepWatch)")
	s.True(w.Unwatched)
	s.Require().NotNil(st.LateWatch)
	s.True(st.LateWatch.Adopted, "the late-money watch took the registration over")
	s.Require().Len(s.watch.registers, 1, "registered once")
	s.Equal(activities.RegisterWatchInput{EscrowID: "seen", Role: escrow.Arbiter, Address: testAddress}, s.watch.registers[0])
	s.Equal(escrow.WalletTaskQueue("rpc-3"), s.watch.queues[0], "on the arbiter's wallet-rpc")
	s.Require().Len(s.watch.unwatches, 1, "unwatched once")
	s.True(s.watch.unwatches[0].Equal(st.WatchUntil), "when the late-money watch ended, at %s, not %s", st.WatchUntil, s.watch.unwatches[0])
}

// TestATimeLockedPaymentSeenByTheWatcherCostsNoWalletCheck: a buyer sends a payment locked
// a thousand blocks ahead. The watcher reports its unlock_time, the escrow applies the
// wallet's own rule to it, records the sighting, and asks no wallet; the real payment's
// sighting later brings the check forward as usual.
func (s *EscrowSuite) TestATimeLockedPaymentSeenByTheWatcherCostsNoWalletCheck() {
	checks := s.checkTimes()
	locked := escrow.PaymentSeen{TxHash: seenHash, AmountAtomic: price, Height: 400, UnlockTime: 1400}
	pooled := escrow.PaymentSeen{TxHash: seenHash, AmountAtomic: price, InPool: true, NextHeight: 400, UnlockTime: 1400}
	lockedAt := s.signalAt(hour, locked, nil)
	pooledAt := s.signalAt(2*hour, pooled, nil)
	paid := escrow.PaymentSeen{TxHash: strings.Repeat("ab", 32), AmountAtomic: price, Height: 401}
	sent := s.signalAt(3*hour, paid, s.paidFrom())
	s.decide(5*hour, escrow.UpdateAgreeRefund, asVendor)
	_, st := s.runLifecycle("locked", escrow.EscrowInput{})
	s.NotContains(checks(), *lockedAt, "no check for a mined time-locked payment")
	s.NotContains(checks(), *pooledAt, "no check for a time-locked payment in the pool")
	s.Contains(checks(), *sent, "the real payment's sighting checks at once")
	s.True(sent.Equal(st.Funding.FundedAt), "funded by that check, at %s, not %s", sent, st.Funding.FundedAt)
	w := st.Funding.Watch
	s.Require().NotNil(w)
	s.Equal(3, w.Signals)
	s.Equal(2, w.TimeLocked, "both time-locked sightings are in the audit trail")
	s.Equal([]escrow.PaymentSeen{locked, pooled, paid}, w.Seen)
}

// TestASightingAloneNeverFundsTheEscrow: the signal claims the full price, the wallet knows
// of nothing: the escrow decides on the wallet, stays unfunded and is cancelled at its
// deadline; the registration is taken off the watcher when the late-money watch that follows
// the cancel ends.
func (s *EscrowSuite) TestASightingAloneNeverFundsTheEscrow() {
	checks := s.checkTimes()
	s.paidFrom() // never paid
	sent := s.signalAt(hour, escrow.PaymentSeen{TxHash: seenHash, AmountAtomic: price, InPool: true}, nil)
	_, st := s.runLifecycle("claimed", escrow.EscrowInput{Timing: escrow.Timing{FundingDeadline: 6 * hour}})
	s.Equal(escrow.StatusCancelled, st.Status)
	s.Equal("funding deadline passed", st.Reason)
	s.Contains(checks(), *sent, "the signal brought a check forward")
	s.Zero(st.Funding.ConfirmedAtomic)
	s.Require().NotNil(st.Funding.Watch)
	s.Equal(1, st.Funding.Watch.Signals)
	s.Require().Len(s.watch.unwatches, 1, "unwatched once")
	s.True(st.WatchUntil.Equal(s.watch.unwatches[0]), "at the late watch's end %s, not %s", st.WatchUntil, s.watch.unwatches[0])
	s.True(st.WatchUntil.Equal(st.Funding.Deadline.Add(7*day)), "which started at the deadline")
}

// TestACancelTakesTheEscrowOffTheWatcher: a party's cancel while awaiting funding ends the
// wait; the registration serves the late-money watch that follows, and the unwatch follows
// that watch's end.
func (s *EscrowSuite) TestACancelTakesTheEscrowOffTheWatcher() {
	s.money.paid = payAt(1<<30, price)
	start := s.env.Now()
	c := s.decide(2*hour, escrow.UpdateCancel, asBuyer)
	_, st := s.runLifecycle("called-off", escrow.EscrowInput{})
	s.True(c.accepted)
	s.Equal(escrow.StatusCancelled, st.Status)
	s.Require().Len(s.watch.unwatches, 1)
	s.Equal(2*hour+7*day, s.watch.unwatches[0].Sub(start), "unwatched when the late watch after the cancel ended")
	s.True(st.LateWatch.Adopted)
}

// pollTimers runs an escrow nobody pays for two days and returns the timers it set while it
// waited for funding (the late-money watch after is a minute long).
func (s *EscrowSuite) pollTimers(id string) []time.Duration {
	var mu sync.Mutex
	var timers []time.Duration
	s.env.SetOnTimerScheduledListener(func(_ string, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		timers = append(timers, d)
	})
	s.money.paid = payAt(1<<30, price)
	_, st := s.runLifecycle(id, escrow.EscrowInput{Timing: escrow.Timing{FundingDeadline: 2 * day, LateMoneyGrace: time.Minute}})
	s.Equal(escrow.StatusCancelled, st.Status)
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(timers)
}

// TestWhileRegisteredThePollIsASafetyNet: the back-off goes on doubling past the usual 10
// minutes to DefaultFundingSafetyNet, and stays there.
func (s *EscrowSuite) TestWhileRegisteredThePollIsASafetyNet() {
	timers := s.pollTimers("netted")
	s.Equal(escrow.DefaultFundingSafetyNet, slices.Max(timers))
	i := slices.Index(timers, 256*time.Minute)
	s.Require().Positive(i, "the back-off doubles past 10 minutes: %v", timers)
	s.Equal(escrow.DefaultFundingSafetyNet, timers[i+1], "the next poll is the safety net")
	s.Less(s.status().Funding.Checks, 25, "two days cost a couple of dozen checks")
}

// TestAFailedRegistrationKeepsTheOldPoll: without the watcher the escrow polls as it always
// did, 10 minutes apart at most, and has nothing to unwatch.
func (s *EscrowSuite) TestAFailedRegistrationKeepsTheOldPoll() {
	s.watch.fail = true
	timers := s.pollTimers("unwatched")
	s.Equal(10*time.Minute, slices.Max(timers))
	st := s.status()
	s.Require().NotNil(st.Funding.Watch)
	s.False(st.Funding.Watch.Registered)
	s.Contains(st.Funding.Watch.Failed, "the database refused")
	s.Empty(s.watch.unwatches)
	s.Len(s.watch.registers, 1, "tried once")
}

// TestContinueAsNewKeepsTheRegistration: the next run neither registers again nor forgets
// that its poll is a safety net.
func (s *EscrowSuite) TestContinueAsNewKeepsTheRegistration() {
	s.money.paid = payAt(1<<30, price)
	next := s.continuedInput("carried", 10*time.Minute)
	w := next.Resume.State.Funding.Watch
	s.Require().NotNil(w)
	s.True(w.Registered)

	s.SetupTest()
	timers := s.pollTimers2(next)
	s.Empty(s.watch.registers, "not registered again")
	s.Contains(timers, escrow.DefaultFundingSafetyNet, "the poll is still the safety net")
	s.NotContains(timers, 10*time.Minute*2, "and not the old back-off past 10 minutes")
	s.Len(s.watch.unwatches, 1)
}

// pollTimers2 runs a continued input to its end and returns its timers.
func (s *EscrowSuite) pollTimers2(in escrow.EscrowInput) []time.Duration {
	var timers []time.Duration
	s.env.SetOnTimerScheduledListener(func(_ string, d time.Duration) { timers = append(timers, d) })
	s.money.paid = payAt(1<<30, price)
	s.money.install(s.env)
	s.proj.install(s.env)
	s.watch.install(s.env)
	s.env.ExecuteWorkflow(Escrow, in)
	s.Require().NoError(s.env.GetWorkflowError())
	return timers
}
