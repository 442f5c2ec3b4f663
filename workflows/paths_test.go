package workflows

import (
	"errors"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// The buyer pays at the third check: a minute or so after Ready; decisions come hours later.
const (
	hour = time.Hour
	day  = 24 * time.Hour
)

func (s *EscrowSuite) TestReleaseAfterShipmentAndReceipt() {
	ship := s.decide(hour, escrow.UpdateMarkShipped, asVendor)
	got := s.decide(2*hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("rel", escrow.EscrowInput{})
	s.True(ship.accepted && got.accepted, "ship %+v, confirm %+v", ship, got)
	s.Equal(escrow.StatusShipped, ship.state.Status)
	s.Equal(escrow.StatusCompleted, st.Status)
	s.Equal(escrow.StatusCompleted, res.Status)
	s.assertPaid(st, escrow.PayoutRelease, escrow.Buyer, escrow.Vendor)
	s.Len(st.Decisions, 2)
	s.Equal(uint64(price), st.Funding.ConfirmedAtomic)
	s.Equal(3, st.Funding.Checks)
}

func (s *EscrowSuite) TestRefundAgreedByTheVendor() {
	s.decide(hour, escrow.UpdateAgreeRefund, asVendor)
	res, st := s.runLifecycle("refund", escrow.EscrowInput{})
	s.Equal(escrow.StatusRefunded, res.Status)
	s.assertPaid(st, escrow.PayoutRefund, escrow.Vendor, escrow.Buyer)
}

func (s *EscrowSuite) TestDisputeWonByTheBuyer() {
	s.decide(hour, escrow.UpdateOpenDispute, with(asBuyer, func(in *escrow.DecisionInput) { in.Reason = "the parcel never arrived" }))
	s.decide(2*hour, escrow.UpdateResolveDispute, with(asArbiter, func(in *escrow.DecisionInput) { in.Winner = escrow.Buyer }))
	res, st := s.runLifecycle("dispute-b", escrow.EscrowInput{})
	s.Equal(escrow.StatusRefunded, res.Status)
	s.Equal("the parcel never arrived", st.DisputeReason)
	s.False(st.Escalated)
	s.assertPaid(st, escrow.PayoutRefund, escrow.Arbiter, escrow.Buyer)
}

func (s *EscrowSuite) TestDisputeWonByTheVendor() {
	s.decide(hour, escrow.UpdateMarkShipped, asVendor)
	s.decide(2*hour, escrow.UpdateOpenDispute, with(asVendor, func(in *escrow.DecisionInput) { in.Reason = "buyer confirmed delivery by mail" }))
	s.decide(3*hour, escrow.UpdateResolveDispute, with(asArbiter, func(in *escrow.DecisionInput) { in.Winner = escrow.Vendor }))
	res, st := s.runLifecycle("dispute-v", escrow.EscrowInput{})
	s.Equal(escrow.StatusCompleted, res.Status)
	s.assertPaid(st, escrow.PayoutRelease, escrow.Arbiter, escrow.Vendor)
}

func (s *EscrowSuite) TestFundingDeadlineCancelsAnUnpaidEscrow() {
	s.money.paid = payAt(1<<30, price)
	res, st := s.runLifecycle("late", escrow.EscrowInput{Timing: escrow.Timing{FundingDeadline: 6 * hour}})
	s.Equal(escrow.StatusCancelled, res.Status)
	s.Equal("funding deadline passed", st.Reason)
	s.Nil(st.Payout)
	s.Empty(s.money.steps, "no payout for an escrow nobody paid")
	s.Less(st.Funding.Checks, 60, "polls back off while nothing arrives")
}

func (s *EscrowSuite) TestUnderpaymentStaysUnfundedAndIsRefundedAtTheDeadline() {
	s.money.paid = func(int) (uint64, uint64) { return price / 2, 0 }
	var mid escrow.State
	s.env.RegisterDelayedCallback(func() { mid = s.status() }, 3*hour)
	_, st := s.runLifecycle("under", escrow.EscrowInput{Timing: escrow.Timing{FundingDeadline: 6 * hour}})
	s.Equal(escrow.StatusAwaitingFunding, mid.Status, "an underpayment is not funding")
	s.Equal(uint64(price/2), mid.Funding.ConfirmedAtomic, "but it is visible")
	s.Equal(escrow.StatusRefunded, st.Status)
	s.Require().NotNil(st.Payout)
	s.Equal([]escrow.Role{escrow.Arbiter, escrow.Buyer}, st.Payout.Signers)
	s.Equal(buyerAddr, st.Payout.Address)
}

func (s *EscrowSuite) TestOverpaymentIsRecorded() {
	s.money.paid = payAt(2, price+7)
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	_, st := s.runLifecycle("over", escrow.EscrowInput{})
	s.Equal(uint64(7), st.Funding.OverpaidAtomic)
	s.Equal(escrow.StatusCompleted, st.Status)
}

func (s *EscrowSuite) TestAutoReleaseAfterShipment() {
	s.decide(hour, escrow.UpdateMarkShipped, asVendor)
	res, st := s.runLifecycle("auto", escrow.EscrowInput{Timing: escrow.Timing{AutoRelease: 3 * day}})
	s.Equal(escrow.StatusCompleted, res.Status)
	s.assertPaid(st, escrow.PayoutRelease, escrow.Arbiter, escrow.Vendor)
	s.Equal("auto-release", st.Decisions[len(st.Decisions)-1].Detail)
	s.GreaterOrEqual(st.Decisions[len(st.Decisions)-1].At.Sub(st.ShippedAt), 3*day)
}

func (s *EscrowSuite) TestUnresolvedDisputeEscalates() {
	s.decide(hour, escrow.UpdateOpenDispute, with(asBuyer, func(in *escrow.DecisionInput) { in.Reason = "wrong item was delivered" }))
	var mid escrow.State
	s.env.RegisterDelayedCallback(func() { mid = s.status() }, 2*day)
	s.decide(9*day, escrow.UpdateResolveDispute, with(asArbiter, func(in *escrow.DecisionInput) { in.Winner = escrow.Vendor }))
	_, st := s.runLifecycle("slow", escrow.EscrowInput{})
	s.False(mid.Escalated, "not before the escalation time")
	s.True(st.Escalated, "flagged after 7 days")
	s.Equal(escrow.StatusCompleted, st.Status)
}

func (s *EscrowSuite) TestCancelBeforeFunding() {
	s.money.paid = payAt(1<<30, price)
	c := s.decide(5*time.Minute, escrow.UpdateCancel, asBuyer)
	res, st := s.runLifecycle("cancel", escrow.EscrowInput{})
	s.True(c.accepted, "%v", c.err)
	s.Equal(escrow.StatusCancelled, res.Status)
	s.Empty(s.money.steps)
	s.Equal(escrow.UpdateCancel, st.Decisions[0].Update)
}

func (s *EscrowSuite) TestWrongDecisionsAreRejected() {
	s.money.addressValid = true
	cases := map[string]*outcome{
		"buyer ships":            s.decide(hour, escrow.UpdateMarkShipped, asBuyer),
		"stranger as vendor":     s.decide(hour, escrow.UpdateMarkShipped, with(asVendor, func(in *escrow.DecisionInput) { in.ActorID = "mallory" })),
		"unknown role":           s.decide(hour, escrow.UpdateMarkShipped, with(asVendor, func(in *escrow.DecisionInput) { in.Role = "thief" })),
		"bad payout address":     s.decide(hour, escrow.UpdateMarkShipped, with(asVendor, func(in *escrow.DecisionInput) { in.PayoutAddress = vendorAddr[:94] + "x" })),
		"short dispute reason":   s.decide(hour, escrow.UpdateOpenDispute, with(asBuyer, func(in *escrow.DecisionInput) { in.Reason = "bad" })),
		"huge dispute reason":    s.decide(hour, escrow.UpdateOpenDispute, with(asBuyer, func(in *escrow.DecisionInput) { in.Reason = strings.Repeat("x", 1001) })),
		"resolve undisputed":     s.decide(hour, escrow.UpdateResolveDispute, with(asArbiter, func(in *escrow.DecisionInput) { in.Winner = escrow.Buyer })),
		"cancel after funding":   s.decide(hour, escrow.UpdateCancel, asBuyer),
		"confirm twice":          s.decide(2*hour+5*time.Second, escrow.UpdateConfirmReceipt, asBuyer),
		"refund after release":   s.decide(2*hour+5*time.Second, escrow.UpdateAgreeRefund, asVendor),
		"dispute after release":  s.decide(2*hour+5*time.Second, escrow.UpdateOpenDispute, with(asBuyer, func(in *escrow.DecisionInput) { in.Reason = "changed my mind, sorry" })),
		"ship before funding":    s.decide(time.Second, escrow.UpdateMarkShipped, asVendor),
		"release before funding": s.decide(time.Second, escrow.UpdateConfirmReceipt, asBuyer),
	}
	ok := s.decide(2*hour, escrow.UpdateConfirmReceipt, asBuyer)
	_, st := s.runLifecycle("reject", escrow.EscrowInput{})
	s.True(ok.accepted)
	for name, o := range cases {
		s.True(o.rejected, "%s was not rejected: %+v", name, o)
		var appErr *temporal.ApplicationError
		if s.True(errors.As(o.err, &appErr), name) {
			s.Equal(escrow.ErrTypeDecisionRejected, appErr.Type(), name)
		}
	}
	s.Len(st.Decisions, 1, "only the valid decision is recorded")
	s.Equal(vendorAddr, st.Payout.Address)
}

func (s *EscrowSuite) TestNewPayoutAddressIsCheckedByTheWallet() {
	const other = "41d7FXjswpK1111111111111111111111111111111111111111111111111111111111111111111111111111112KhNi4"
	s.money.addressValid = false
	refused := s.decide(hour, escrow.UpdateMarkShipped, with(asVendor, func(in *escrow.DecisionInput) { in.PayoutAddress = other }))
	s.decide(2*hour, escrow.UpdateAgreeRefund, asVendor)
	_, st := s.runLifecycle("addr", escrow.EscrowInput{})
	s.True(refused.accepted, "the format is fine, so the validator lets it through")
	s.Error(refused.err, "but the wallet-rpc says no")
	s.Equal(vendorAddr, st.VendorPayoutAddress)
}

func (s *EscrowSuite) TestStalePayoutIsRebuiltFromAFreshSync() {
	s.money.staleSigns = 1
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	_, st := s.runLifecycle("stale", escrow.EscrowInput{})
	s.Equal(escrow.StatusCompleted, st.Status)
	s.Equal(2, st.Payout.Attempts)
	exports := 0
	for _, step := range s.money.steps {
		if strings.HasPrefix(step, "export:") {
			exports++
		}
	}
	s.Equal(4, exports, "both signers export again for the second attempt")
}

// continuedInput runs the escrow until it continues as new and returns the next run's input.
func (s *EscrowSuite) continuedInput(id string, fullAt time.Duration) escrow.EscrowInput {
	s.env.RegisterDelayedCallback(func() { s.env.SetCurrentHistoryLength(20_000) }, fullAt)
	s.wallets.install()
	s.env.ExecuteWorkflow(Escrow, input(id, escrow.EscrowInput{}))
	var can *workflow.ContinueAsNewError
	err := s.env.GetWorkflowError()
	s.Require().True(errors.As(err, &can), "got %v", err)
	var next escrow.EscrowInput
	s.Require().NoError(converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	s.Require().NotNil(next.Resume)
	s.Equal(id, next.EscrowID)
	return next
}

func (s *EscrowSuite) TestContinueAsNewWhileWaitingForFunding() {
	s.money.paid = payAt(1<<30, price)
	next := s.continuedInput("long", 10*time.Minute)
	s.Equal(escrow.StatusAwaitingFunding, next.Resume.State.Status)
	s.Equal(testAddress, next.Resume.State.Address)
	s.Positive(next.Resume.Version)
	s.Positive(next.Resume.State.Funding.Checks)
}

// TestContinueAsNewCarriesDecisionsIntoTheNextRun: decisions taken in one run are in the
// next, which finishes the payout without redoing the setup.
func (s *EscrowSuite) TestContinueAsNewCarriesDecisionsIntoTheNextRun() {
	s.money.paid = payAt(3, price)
	s.decide(hour, escrow.UpdateMarkShipped, asVendor)
	s.decide(2*hour, escrow.UpdateConfirmReceipt, asBuyer)
	next := s.continuedInput("carry", hour+time.Minute)
	s.Equal(escrow.StatusReleasing, next.Resume.State.Status)
	s.Len(next.Resume.State.Decisions, 2)
	s.Equal([]escrow.Role{escrow.Buyer, escrow.Vendor}, next.Resume.State.Payout.Signers)

	// The next run: no setup step, straight to the payout.
	s.SetupTest()
	s.money.paid = payAt(0, price)
	s.money.install(s.env)
	s.proj.install(s.env)
	s.env.ExecuteWorkflow(Escrow, next)
	s.Require().NoError(s.env.GetWorkflowError())
	var res escrow.EscrowResult
	s.Require().NoError(s.env.GetWorkflowResult(&res))
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Empty(s.wallets.calls, "the setup is not redone")
	s.Greater(s.proj.writes[0].Version, next.Resume.Version-1, "versions keep growing across runs")
}

// TestRefundWaitsForFundsStillConfirming: a payment seen but not yet confirmed when the
// deadline passes is refunded once it unlocks, without burning payout attempts.
func (s *EscrowSuite) TestRefundWaitsForFundsStillConfirming() {
	s.money.paid = func(int) (uint64, uint64) { return 0, price }
	s.money.lockedChecks = 20
	_, st := s.runLifecycle("locked", escrow.EscrowInput{Timing: escrow.Timing{FundingDeadline: hour}})
	s.Equal(escrow.StatusRefunded, st.Status)
	s.Equal(1, st.Payout.Attempts, "waiting for the unlock is not an attempt")
	s.Equal(buyerAddr, st.Payout.Address)
	s.Greater(s.money.balanceChecks, 20)
}
