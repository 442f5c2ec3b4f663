package workflows

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// confirming mocks CheckFunding (ahead of fakeMoney's): the payment seenHash is pending until
// deep() is called, confirmed after; it returns the test-clock times of the checks.
func (s *EscrowSuite) confirming(txIDs ...string) (deep func(), checks func() []time.Time) {
	var mu sync.Mutex
	var at []time.Time
	confirmed := false
	s.env.OnActivity(wallet.CheckFunding, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.FundingInput) (activities.FundingResult, error) {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, s.env.Now())
			if confirmed {
				return activities.FundingResult{ConfirmedAtomic: price, TxIDs: txIDs, Payments: len(txIDs)}, nil
			}
			return activities.FundingResult{PendingAtomic: price, TxIDs: txIDs, Payments: len(txIDs)}, nil
		})
	s.money.paid = func(int) (uint64, uint64) { // what the payout's steps see
		mu.Lock()
		defer mu.Unlock()
		if confirmed {
			return price, 0
		}
		return 0, price
	}
	return func() { mu.Lock(); confirmed = true; mu.Unlock() },
		func() []time.Time { mu.Lock(); defer mu.Unlock(); return slices.Clone(at) }
}

// TestAConfirmingPaymentIsFollowedAndFundsTheEscrowWhenDeep: the buyer's payment is seen in
// the pool and the check finds it confirming. The escrow asks the watcher, once, to follow it
// to the depth a payment counts at, on the arbiter's queue. When the watcher reports it deep
// enough, the escrow checks at that very moment and is funded then, not at its next poll.
func (s *EscrowSuite) TestAConfirmingPaymentIsFollowedAndFundsTheEscrowWhenDeep() {
	deep, checks := s.confirming(seenHash)
	s.signalAt(hour, escrow.PaymentSeen{TxHash: seenHash, AmountAtomic: price, InPool: true}, nil)
	at := hour + 20*time.Minute + 7*time.Second // between two of the confirming payment's polls
	sent := s.signalAt(at, escrow.PaymentSeen{TxHash: seenHash, Confirmations: 10}, deep)
	s.decide(3*hour, escrow.UpdateAgreeRefund, asVendor)
	_, st := s.runLifecycle("followed", escrow.EscrowInput{})
	s.Equal(escrow.StatusRefunded, st.Status)
	s.Contains(checks(), *sent, "a check at the very time of the depth report")
	s.True(sent.Equal(st.Funding.FundedAt), "funded by that check, at %s, not %s", sent, st.Funding.FundedAt)
	s.Require().Len(s.watch.fundingFollows, 1, "followed once, however many checks saw it confirming")
	s.Equal(activities.FollowInput{EscrowID: "followed", TxHashes: []string{seenHash}, Target: escrow.Timing{}.WithDefaults().FundingConfirmations}, s.watch.fundingFollows[0])
	s.Equal(escrow.WalletTaskQueue("rpc-3"), s.watch.fundingQueues[0], "on the arbiter's queue, where the registration ran")
	s.Equal([]string{seenHash}, st.Funding.Watch.Followed)
	s.Empty(st.Funding.Watch.FollowFailed)
}

// A new payment while the first still confirms is followed with it: the watcher is asked again
// with both.
func (s *EscrowSuite) TestASecondPaymentIsFollowedWithTheFirst() {
	second := strings.Repeat("ab", 32)
	var mu sync.Mutex
	txIDs := []string{seenHash}
	s.env.OnActivity(wallet.CheckFunding, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.FundingInput) (activities.FundingResult, error) {
			mu.Lock()
			defer mu.Unlock()
			return activities.FundingResult{PendingAtomic: price, TxIDs: slices.Clone(txIDs)}, nil
		})
	s.signalAt(hour, escrow.PaymentSeen{TxHash: seenHash, InPool: true}, nil)
	s.signalAt(2*hour, escrow.PaymentSeen{TxHash: second, InPool: true}, func() { mu.Lock(); txIDs = append(txIDs, second); mu.Unlock() })
	_, st := s.runLifecycle("two", escrow.EscrowInput{Timing: escrow.Timing{FundingDeadline: 4 * hour}})
	s.Require().Len(s.watch.fundingFollows, 2)
	s.Equal([]string{seenHash}, s.watch.fundingFollows[0].TxHashes)
	s.Equal([]string{seenHash, second}, s.watch.fundingFollows[1].TxHashes)
	s.Equal([]string{seenHash, second}, st.Funding.Watch.Followed)
}

// An escrow whose registration failed polls as it always did, and asks the watcher nothing.
func (s *EscrowSuite) TestAnUnwatchedEscrowAsksTheWatcherToFollowNothing() {
	s.watch.fail = true
	s.confirming(seenHash)
	_, st := s.runLifecycle("unwatched", escrow.EscrowInput{Timing: escrow.Timing{FundingDeadline: 2 * hour}})
	s.Empty(s.watch.fundingFollows)
	s.Require().NotNil(st.Funding.Watch)
	s.False(st.Funding.Watch.Registered)
}
