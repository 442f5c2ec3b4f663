package workflows

import (
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// The money rules of escrow.ExactShares, on the test suite's fake wallets: each party paid
// exactly its share, or a payout parked visibly with a reason.

const marketplaceAddr = "87ZqGLYPJ4WHkp4nuhvyn7a5TmxN4TzjXEntTnkkdUB7dAdJ3oh1P2bPd14Jw3RqkEYS4iuK5NL1hZ98NLaTNa1ZBDiZ9Fg" // a subaddress of the marketplace

// sharesOf indexes a payout's shares by party.
func sharesOf(p *escrow.Payout) map[escrow.Party]uint64 {
	out := map[escrow.Party]uint64{}
	for _, sh := range p.Shares {
		out[sh.Party] += sh.AmountAtomic
	}
	return out
}

// The buyer pays twice the price and confirms receipt: the vendor gets the price (less the
// fee, which it pays), the buyer gets the overpayment back whole, in the same payout.
func (s *EscrowSuite) TestAnOverpaymentIsPaidBackToTheBuyerInTheRelease() {
	s.money.paid = payAt(3, 2*price)
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("overpaid", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	p := st.Payout
	s.Equal(escrow.ExactShares, p.Rules)
	s.Equal(map[escrow.Party]uint64{escrow.PartyVendor: price - fee, escrow.PartyBuyer: price}, sharesOf(p))
	s.Equal(uint64(2*price), p.FundedAtomic)
	s.Require().NotEmpty(s.money.creates)
	s.Equal([]escrow.Share{
		{Party: escrow.PartyVendor, Address: vendorAddr, AmountAtomic: price},
		{Party: escrow.PartyBuyer, Address: buyerAddr, AmountAtomic: price},
	}, s.money.creates[len(s.money.creates)-1].Destinations, "built with the fee taken from the vendor's share (index 0)")
	s.Nil(st.LateRefund)
	s.Empty(st.LateRefunds, "the overpayment went back in the release, not as late money")
}

// The arbiter resolves a dispute with a 70/30 split on an escrow with a 2 % commission: the
// commission comes out of the vendor's 70 %, each address gets exactly its share.
func (s *EscrowSuite) TestADisputeResolvedWithASplitPaysEachPartyItsShare() {
	s.decide(hour, escrow.UpdateOpenDispute, with(asBuyer, func(in *escrow.DecisionInput) { in.Reason = "half of it arrived broken" }))
	tooMuch := s.decide(2*hour, escrow.UpdateResolveDispute, with(asArbiter, func(in *escrow.DecisionInput) { in.VendorAtomic = price + 1 }))
	both := s.decide(2*hour, escrow.UpdateResolveDispute, with(asArbiter, func(in *escrow.DecisionInput) {
		in.VendorAtomic, in.Winner = price/2, escrow.Vendor
	}))
	split := s.decide(3*hour, escrow.UpdateResolveDispute, with(asArbiter, func(in *escrow.DecisionInput) { in.VendorAtomic = price * 7 / 10 }))
	in := escrow.EscrowInput{Timing: parkingTiming}
	in.Commission = &escrow.Commission{BasisPoints: 200, Address: marketplaceAddr}
	res, st := s.runLifecycle("split", in)
	s.Require().NoError(s.env.GetWorkflowError())
	s.Require().Equal(escrow.StatusCompleted, res.Status)
	s.True(tooMuch.rejected, "a split gives the vendor at most the price")
	s.True(both.rejected, "a winner or a split, not both")
	s.Require().True(split.accepted, "%v", split.err)
	s.Equal(escrow.StatusCompleted, res.Status)
	p := st.Payout
	s.Equal(escrow.PayoutSplit, p.Kind)
	s.Equal([]escrow.Role{escrow.Arbiter, escrow.Buyer}, p.Signers)
	const vendor, cut = price * 7 / 10, price * 7 / 10 * 2 / 100
	s.Equal(map[escrow.Party]uint64{escrow.PartyVendor: vendor - cut - fee, escrow.PartyMarketplace: cut, escrow.PartyBuyer: price - vendor}, sharesOf(p))
	s.Equal(marketplaceAddr, p.Shares[1].Address)
}

// The buyer and the vendor agree on a split: an offer, a counter-offer, then the same amount
// from the other party decides it.
func (s *EscrowSuite) TestTheBuyerAndTheVendorAgreeOnASplit() {
	s.decide(hour, escrow.UpdateAgreeSplit, with(asBuyer, func(in *escrow.DecisionInput) { in.VendorAtomic = price / 2 }))
	s.decide(2*hour, escrow.UpdateAgreeSplit, with(asVendor, func(in *escrow.DecisionInput) { in.VendorAtomic = price * 8 / 10 }))
	arbiter := s.decide(3*hour, escrow.UpdateAgreeSplit, with(asArbiter, func(in *escrow.DecisionInput) { in.VendorAtomic = price / 2 }))
	tiny := s.decide(3*hour, escrow.UpdateAgreeSplit, with(asBuyer, func(in *escrow.DecisionInput) { in.VendorAtomic = 1 }))
	var offer escrow.State
	s.env.RegisterDelayedCallback(func() { offer = s.status() }, 3*hour+time.Minute)
	agreed := s.decide(4*hour, escrow.UpdateAgreeSplit, with(asBuyer, func(in *escrow.DecisionInput) { in.VendorAtomic = price * 8 / 10 }))
	res, st := s.runLifecycle("agreed", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.True(arbiter.rejected, "the arbiter does not agree a split; it resolves disputes")
	s.True(tiny.rejected, "a split must leave the vendor enough to pay the fee")
	s.Require().NotNil(offer.SplitOffer)
	s.Equal(escrow.Vendor, offer.SplitOffer.Role, "the counter-offer replaced the offer")
	s.Equal(escrow.StatusFunded, offer.Status, "an offer decides nothing")
	s.Require().True(agreed.accepted, "%v", agreed.err)
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Equal([]escrow.Role{escrow.Buyer, escrow.Vendor}, st.Payout.Signers)
	s.Equal(map[escrow.Party]uint64{escrow.PartyVendor: price*8/10 - fee, escrow.PartyBuyer: price - price*8/10}, sharesOf(st.Payout))
	s.Nil(st.SplitOffer)
}

// Dust at the address never blocks the release: the payout divides what it can spend and
// lists the dust; the dust is in the final status, and the watch ends on time.
func (s *EscrowSuite) TestDustNeverBlocksAPayoutAndIsListedAtTheEnd() {
	s.money.dust = &escrow.Dust{AmountAtomic: 100_000, Outputs: 1, BelowAtomic: dustBelow}
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("dust-left", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Equal(s.money.dust, st.Payout.Dust)
	s.Require().NotNil(st.Leftover, "the final status lists what stays, and why")
	s.Equal(s.money.dust, st.Leftover.Dust)
	s.Contains(st.Leftover.Reason, "dust")
	s.Equal(st.Leftover, res.Leftover)
	s.Empty(st.LateRefunds)
}

// New payments keep confirming at the address during the release: after SettleWait the
// payout pays what was decided from what is spendable; it does not wait for ever.
func (s *EscrowSuite) TestPaymentsEveryFewBlocksCannotHoldTheReleaseUp() {
	s.money.arriving = true
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	var decidedAt time.Time
	s.env.RegisterDelayedCallback(func() { decidedAt = s.env.Now() }, hour)
	res, st := s.runLifecycle("arriving", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Nil(st.Blocked)
	s.Less(s.money.submittedAt.Sub(decidedAt), 45*time.Minute, "paid after the 30 min settle wait, not never")
	s.GreaterOrEqual(s.money.submittedAt.Sub(decidedAt), 30*time.Minute)
}

// The forgotten payout: the set is relayed, the reply is lost and the payout parks;
// the status check that should adopt it fails; the wallet is then empty. The escrow asks
// about the set it signed before concluding anything, finds it mined, and completes, paying
// once.
func (s *EscrowSuite) TestAForgottenPayoutFoundMinedCompletesTheEscrow() {
	s.money.lostReplies, s.money.statusErrors = 1, 5
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("forgotten", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status, "not parked for ever as funds_locked 0 of 0")
	s.Equal(1, s.money.submits, "paid once")
	s.Equal([]string{"hash-1"}, st.Payout.TxHashes)
	s.Empty(st.Payout.Earlier)
}

// The wallet marks the relayed payout failed (dropped from its pool), but it was mined: the
// rebuild finds the escrow empty, the escrow asks about the earlier set, and adopts it.
func (s *EscrowSuite) TestAPayoutMarkedFailedButMinedIsAdopted() {
	s.money.vanishes, s.money.minedAnyway = 1, 1
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("mined-anyway", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Equal(1, s.money.submits, "never paid twice")
	s.Equal([]string{"hash-1"}, st.Payout.TxHashes)
	s.Equal(1, st.Payout.Rebuilds)
}

// A reorg takes the buyer's payment after the escrow was funded, as the release is decided:
// the holdings check before paying sees less than the price, parks funds_missing, builds
// nothing, and pays the price once the payment is back.
func (s *EscrowSuite) TestAPayoutDuringAReorgThatRemovesTheFundingChecksBeforePaying() {
	s.money.shortChecks = 4
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	seen := s.watchBlocked(time.Minute, 3*hour)
	res, st := s.runLifecycle("reorg", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Require().NotEmpty(*seen, "shown parked while the money was missing")
	s.Equal(escrow.BlockFundsMissing, (*seen)[0].Blocked.Code)
	s.Contains((*seen)[0].Blocked.Reason, "reorg")
	for _, c := range s.money.creates {
		s.Equal(uint64(price), c.SpendableAtomic, "nothing built on the short balance")
	}
	s.Equal(map[escrow.Party]uint64{escrow.PartyVendor: price - fee}, sharesOf(st.Payout))
}

// A refund decided on a payment still in the pool, which is then dropped: nothing ever
// arrived, so the escrow ends cancelled instead of parking for ever.
func (s *EscrowSuite) TestARefundOfAPaymentThatNeverConfirmedEndsCancelled() {
	dropped := false
	s.money.paid = func(int) (uint64, uint64) {
		if dropped {
			return 0, 0
		}
		return 0, price
	}
	s.env.RegisterDelayedCallback(func() { dropped = true }, 2*hour)
	s.money.lockedChecks = 1000 // still in the pool: nothing spendable until it is dropped
	s.decide(hour, escrow.UpdateCancel, asBuyer)
	res, st := s.runLifecycle("dropped", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCancelled, res.Status)
	s.Contains(st.Reason, "never confirmed")
	s.Zero(s.money.submits)
}

// Whatever parks a payout, the back-off grows with each retry: the co-signer refusing, again
// and again, is retried less and less often, and the count in the status grows.
func (s *EscrowSuite) TestAParkedPayoutBacksOffLongerEachTime() {
	s.money.feeCapNeeded = 2 * maxFeeAtomic // refused until an operator raises the cap
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	seen := s.watchBlocked(time.Minute, 5*hour)
	s.retryPayout(5*hour, escrow.RetryPayoutInput{Operator: "ops-1", MaxFeeAtomic: 2 * maxFeeAtomic})
	res, _ := s.runLifecycle("backoff", escrow.EscrowInput{Timing: escrow.Timing{PayoutRetry: time.Minute, PayoutRetryMax: hour, LateMoneyGrace: day}})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	waits := map[int]time.Duration{} // the back-off each park chose, by its retry count
	for _, st := range *seen {
		waits[st.Blocked.Retries] = st.Blocked.NextRetryAt.Sub(st.Blocked.Since)
	}
	s.GreaterOrEqual(len(waits), 6, "the count in the status grows: %v", waits)
	for n, wait := range waits {
		s.Equal(min(time.Minute<<(n-1), hour), wait, "retry %d: 1 min doubling, up to 1 h", n)
	}
	s.LessOrEqual(len(s.money.signed), 11, "refused every minute for five hours would be 300 attempts")
}

// A payment locked for longer than the normal lock arrives after the release; it counts once
// it is within the lock of unlocking, and is refunded to the buyer inside the grace period.
func (s *EscrowSuite) TestMoneyThatUnlocksLaterIsRefundedWhenItDoes() {
	const late = 200_000_000_000
	counted := false
	s.money.paid = func(check int) (uint64, uint64) {
		if check < 3 {
			return 0, 0
		}
		if counted {
			return price + late, 0
		}
		return price, 0
	}
	s.env.RegisterDelayedCallback(func() { counted = true }, 6*hour) // the lock runs out
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("unlocks-later", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Require().Len(st.LateRefunds, 1)
	s.Equal(uint64(late-fee), st.LateRefunds[0].Shares[0].AmountAtomic)
	s.Equal(buyerAddr, st.LateRefunds[0].Shares[0].Address)
}

// Money arriving in the last minute of the grace period: the watch's last sleep ends at the
// grace period's end, and the last look refunds it.
func (s *EscrowSuite) TestMoneyInTheLastMinuteOfTheGraceIsRefunded() {
	const late = 100_000_000_000
	s.money.late = late
	timing := parkingTiming
	timing.LateMoneyGrace, timing.LatePollMax = 6*hour, 6*hour
	s.env.RegisterDelayedCallback(func() {
		until := s.status().WatchUntil
		s.Require().False(until.IsZero(), "the watch has started")
		s.money.mu.Lock()
		s.money.lateAt = until.Add(-time.Minute)
		s.money.mu.Unlock()
	}, 3*hour)
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("last-minute", escrow.EscrowInput{Timing: timing})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Require().Len(st.LateRefunds, 1, "refunded by the last look")
	s.Equal(uint64(late-fee), st.LateRefunds[0].AmountAtomic)
}

// An operator resumes the watch of a finished escrow whose leftover lists a time-locked
// payment: a new run carries the finished state, records who resumed it, and refunds the
// payment once it counts.
func (s *EscrowSuite) TestAResumedWatchRefundsATimeLockedLeftover() {
	const locked = 300_000_000_000
	s.money.paid = func(int) (uint64, uint64) { return price + locked, 0 } // it has unlocked by now
	s.money.submits, s.money.swept = 1, price                              // the release went out in the earlier run
	done := escrow.State{
		Summary: escrow.Summary{Status: escrow.StatusCompleted, Phase: escrow.PhaseReady, Round: 3, Address: testAddress},
		Payout: &escrow.Payout{Kind: escrow.PayoutRelease, Rules: escrow.ExactShares, Submitted: true, FundedAtomic: price,
			Signers: []escrow.Role{escrow.Buyer, escrow.Vendor}, TxHashes: []string{"hash-0"}},
		LateRules: escrow.ExactShares, LateSeenAtomic: price,
		Leftover:   &escrow.Leftover{TimeLockedAtomic: locked, TimeLocked: []escrow.TimeLockedPayment{{TxID: "cb", AmountAtomic: locked, UnlockTime: 9_000}}},
		Assignment: escrow.Assignment{Buyer: "rpc-1", Vendor: "rpc-2", Arbiter: "rpc-3"},
	}
	in := escrow.EscrowInput{Timing: parkingTiming, Resume: &escrow.Checkpoint{State: done, WatchFor: 2 * hour, Operator: "ops-7"}}
	res, st := s.runLifecycle("resumed", in)
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Require().Len(st.LateRefunds, 1, "the leftover was refunded")
	s.Equal(uint64(locked-fee), st.LateRefunds[0].Shares[0].AmountAtomic)
	last := st.Decisions[len(st.Decisions)-1]
	s.Equal(escrow.UpdateResumeWatch, last.Update)
	s.Equal("ops-7", last.ActorID)
	s.Nil(st.Leftover, "nothing left this time")
}
