package workflows

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/xmr-escrow/xmr-escrow/activities/placement"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// Each test here is an attack or a fault during the payout; none may fail the workflow or
// leave money in the multisig without a workflow watching it.

// parkingTiming makes a parked payout's back-off short, and ends the late-money watch soon.
var parkingTiming = escrow.Timing{PayoutRetry: time.Minute, PayoutRetryMax: 10 * time.Minute, LateMoneyGrace: day}

// blockedSeen records every parked state the status query showed while the test ran.
func (s *EscrowSuite) watchBlocked(every time.Duration, until time.Duration) *[]escrow.State {
	var seen []escrow.State
	for at := every; at < until; at += every {
		s.env.RegisterDelayedCallback(func() {
			if st := s.status(); st.Blocked != nil {
				seen = append(seen, st)
			}
		}, at)
	}
	return &seen
}

func (s *EscrowSuite) TestADaemonOutageAtSubmitParksThenCompletes() {
	s.money.submitOutages = 12 // two payout attempts' worth of retries
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	seen := s.watchBlocked(time.Minute, 3*hour)
	res, st := s.runLifecycle("outage", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError(), "a payout never fails the workflow")
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Equal(escrow.StatusCompleted, st.Status)
	s.Nil(st.Blocked, "unparked once it went through")
	s.Require().NotEmpty(*seen, "the escrow showed payout_blocked while the daemon was down")
	b := (*seen)[0]
	s.Equal(escrow.StatusPayoutBlocked, b.Status)
	s.Equal(escrow.BlockUnreachable, b.Blocked.Code)
	s.Contains(b.Blocked.Reason, "no connection to daemon")
	s.Equal(escrow.StatusReleasing, b.Blocked.From)
	s.Equal(1, s.money.submits, "one payout on chain")
}

func (s *EscrowSuite) TestAFeeSpikeParksUntilAnOperatorRaisesTheCap() {
	s.money.feeCapNeeded = 2 * maxFeeAtomic
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	early := s.retryPayout(30*time.Minute, escrow.RetryPayoutInput{Operator: "ops-1", MaxFeeAtomic: 2 * maxFeeAtomic})
	greedy := s.retryPayout(2*hour, escrow.RetryPayoutInput{Operator: "ops-1", MaxFeeAtomic: price})
	retry := s.retryPayout(2*hour+time.Minute, escrow.RetryPayoutInput{Operator: "ops-1", MaxFeeAtomic: 2 * maxFeeAtomic})
	seen := s.watchBlocked(10*time.Minute, 2*hour)
	res, st := s.runLifecycle("fee", escrow.EscrowInput{Timing: escrow.Timing{PayoutRetry: day, PayoutRetryMax: day, LateMoneyGrace: day}})
	s.Require().NoError(s.env.GetWorkflowError())
	s.True(early.rejected, "nothing is parked before the payout: %+v", early)
	s.True(greedy.rejected, "a fee cap above a tenth of the escrow is refused")
	s.True(retry.accepted, "%v", retry.err)
	s.Require().NotEmpty(*seen)
	s.Equal(escrow.BlockRejected, (*seen)[0].Blocked.Code)
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Equal(uint64(2*maxFeeAtomic), st.Payout.MaxFeeAtomic)
	last := st.Decisions[len(st.Decisions)-1]
	s.Equal(escrow.UpdateRetryPayout, last.Update)
	s.Equal("ops-1", last.ActorID)
}

func (s *EscrowSuite) TestAWalletThatWillNotOpenAfterARedeployParksUntilItIsFixed() {
	s.money.unopenable = 4 // a few back-offs until the operator puts the right secret back
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	seen := s.watchBlocked(time.Minute, 3*hour)
	res, _ := s.runLifecycle("redeploy", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError(), "a payout never fails the workflow")
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Require().NotEmpty(*seen)
	s.Equal(escrow.BlockWallet, (*seen)[0].Blocked.Code)
	s.Contains((*seen)[0].Blocked.Reason, "invalid password")
}

func (s *EscrowSuite) TestDustPaymentsThatKeepTheStateStaleNeverExhaustThePayout() {
	s.money.staleSigns = 3 * maxPayoutAttempts // every payment makes the sync stale again
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	seen := s.watchBlocked(5*time.Minute, 10*hour)
	res, st := s.runLifecycle("dust", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Greater(st.Payout.Attempts, maxPayoutAttempts, "more attempts than the old budget")
	s.Require().NotEmpty(*seen, "a payout that keeps going stale is shown parked")
	s.Equal(escrow.BlockStale, (*seen)[0].Blocked.Code)
}

func (s *EscrowSuite) TestAPayoutThatVanishesFromThePoolIsRebuilt() {
	s.money.vanishes = 1
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("vanish", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Equal(1, st.Payout.Rebuilds)
	s.Equal(2, s.money.submits, "built and submitted again")
	s.Equal([]string{"hash-2"}, st.Payout.TxHashes, "the payout that counts is the rebuilt one")
}

func (s *EscrowSuite) TestLateMoneyAfterCompletionIsRefundedToTheBuyer() {
	const late = 200_000_000_000
	s.money.late = late
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("late", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status, "the escrow's outcome stays the release")
	s.Require().Len(st.LateRefunds, 1)
	r := st.LateRefunds[0]
	s.Equal(buyerAddr, r.Address)
	s.Equal([]escrow.Role{escrow.Arbiter, escrow.Buyer}, r.Signers)
	s.Equal(uint64(late), r.FundedAtomic, "exactly the late money, not the release again")
	s.Equal(uint64(late-fee), r.AmountAtomic)
	s.Nil(st.LateRefund)
	s.False(st.WatchUntil.IsZero())
	s.False(s.env.Now().Before(st.WatchUntil), "the workflow ends only after the grace period")
}

func (s *EscrowSuite) TestACancelRightAfterAConfirmedPaymentRefunds() {
	// The buyer's payment confirms at the fourth check, but the poll has backed off: the
	// cancel arrives before that check would run.
	s.money.paid = payAt(4, price)
	c := s.decide(20*time.Minute, escrow.UpdateCancel, asBuyer)
	res, st := s.runLifecycle("cancel-paid", escrow.EscrowInput{Timing: escrow.Timing{FundingPoll: 5 * time.Minute, FundingPollMax: time.Hour, LateMoneyGrace: day}})
	s.Require().NoError(s.env.GetWorkflowError())
	s.True(c.accepted, "%v", c.err)
	s.Equal(escrow.StatusRefunding, c.state.Status, "the cancel returns the decision taken on fresh data")
	s.Equal(escrow.StatusRefunded, res.Status, "the payment goes back, it is not left in the multisig")
	s.Equal(buyerAddr, st.Payout.Address)
}

func (s *EscrowSuite) TestTheDeadlineNeverExpiresOnAFailedCheck() {
	// The buyer has paid by the deadline, but every attempt of the check at the deadline
	// fails: the old code expired on the last known "nothing arrived" and left the money.
	s.money.paid = payAt(2, price)
	s.money.failChecksFrom, s.money.failChecks = 2, 5
	got := s.decide(2*hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("deadline", escrow.EscrowInput{Timing: escrow.Timing{FundingPoll: 30 * time.Minute, FundingPollMax: 30 * time.Minute, FundingDeadline: 30 * time.Minute, LateMoneyGrace: day}})
	s.Require().NoError(s.env.GetWorkflowError())
	s.True(got.accepted, "the escrow is funded, not cancelled on stale data: %v", got.err)
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Equal(uint64(price), st.Funding.ConfirmedAtomic)
}

// retryPayout sends an operator's retry-payout at the given test-clock time.
func (s *EscrowSuite) retryPayout(at time.Duration, in escrow.RetryPayoutInput) *outcome {
	return s.update(at, escrow.UpdateRetryPayout, in)
}

// TestASetupWaitsForCapacityOnADurableTimer: every instance is leased to another setup; the
// escrow waits on timers, not inside a local activity's retries, and runs once one frees.
func (s *EscrowSuite) TestASetupWaitsForCapacityOnADurableTimer() {
	_, err := s.pool.AssignWalletRPCs(context.Background(), placement.AssignInput{EscrowID: "someone-else"})
	s.Require().NoError(err)
	s.env.RegisterDelayedCallback(func() {
		for _, in := range []string{"rpc-1", "rpc-2", "rpc-3"} {
			s.pool.Return(in, "someone-else")
		}
	}, 10*time.Minute)
	var timers int
	s.env.SetOnTimerScheduledListener(func(string, time.Duration) { timers++ })
	s.wallets.install()
	s.env.ExecuteWorkflow(Escrow, input("waits", escrow.EscrowInput{Timing: escrow.Timing{FundingDeadline: time.Minute, LateMoneyGrace: time.Minute}}))
	s.Require().NoError(s.env.GetWorkflowError())
	var res escrow.EscrowResult
	s.Require().NoError(s.env.GetWorkflowResult(&res))
	s.Equal(escrow.StatusCancelled, res.Status, "set up once capacity came back, then nobody paid")
	s.True(res.Assignment.Complete())
	s.GreaterOrEqual(timers, 10, "the wait is a series of durable timers")
}

// TestAWaitingSetupIsWokenWhenALeaseEnds: the pool that refused the setup wakes it when a
// release makes room, so it leases at once instead of sleeping out its 30 s back-off.
func (s *EscrowSuite) TestAWaitingSetupIsWokenWhenALeaseEnds() {
	_, err := s.pool.AssignWalletRPCs(context.Background(), placement.AssignInput{EscrowID: "someone-else"})
	s.Require().NoError(err)
	s.pool.SetWake(func(id string) {
		s.Equal("waits", id)
		s.env.SignalWorkflow(string(escrow.SignalCapacityFreed), nil)
	})
	var freedAt, leasedAt time.Time
	s.env.RegisterDelayedCallback(func() {
		freedAt = s.env.Now()
		for _, in := range []string{"rpc-1", "rpc-2", "rpc-3"} {
			s.pool.Return(in, "someone-else")
		}
	}, 10*time.Minute+7*time.Second)
	s.env.SetOnLocalActivityCompletedListener(func(_ *activity.Info, _ converter.EncodedValue, err error) {
		if err == nil && leasedAt.IsZero() {
			leasedAt = s.env.Now()
		}
	})
	s.wallets.install()
	s.env.ExecuteWorkflow(Escrow, input("waits", escrow.EscrowInput{Timing: escrow.Timing{FundingDeadline: time.Minute, LateMoneyGrace: time.Minute}}))
	s.Require().NoError(s.env.GetWorkflowError())
	s.False(leasedAt.IsZero(), "the setup leased its instances")
	s.Less(leasedAt.Sub(freedAt), time.Second, "leased right after the release, not at its next timer")
}
