package workflows

import (
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// The lean payout (changeLeanPayout), on the test suite's fake wallets: the holdings are read
// once, after the signers' sync, unless money is still on its way.

// lookBeforeSubmit lists the holdings checks the payout made before its submit.
func (s *EscrowSuite) looksBeforeSubmit() []holdingsLook {
	var out []holdingsLook
	for _, l := range s.money.looks {
		if !l.afterSubmit {
			out = append(out, l)
		}
	}
	return out
}

// A funded escrow's money has unlocked: the release syncs both signers and reads the first
// signer's holdings once, as the sync left them, and builds from that. No look before the
// sync, no refresh after it.
func (s *EscrowSuite) TestAFundedReleaseReadsTheHoldingsOnceAfterTheSync() {
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("lean", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	looks := s.looksBeforeSubmit()
	s.Require().Len(looks, 1, "one holdings check before the submit")
	s.True(looks[0].in.Synced, "read as the sync left it, no refresh")
	s.Equal(st.Payout.Signers[0], looks[0].in.Role)
	s.Equal(2, looks[0].afterExports, "after both signers exported")
	s.Equal(1, st.Payout.Attempts)
}

// Payments keep confirming at the address: the synced look finds money locked, so the payout
// waits for it as before (looks of its own, with a refresh), then syncs again and divides
// what the second synced look sees.
func (s *EscrowSuite) TestMoneyStillArrivingAtTheReleaseIsWaitedForAndSyncedAgain() {
	s.money.arriving = true
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, _ := s.runLifecycle("lean-arriving", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	looks := s.looksBeforeSubmit()
	s.Require().Greater(len(looks), 2)
	first, last := looks[0], looks[len(looks)-1]
	s.True(first.in.Synced)
	s.Equal(2, first.afterExports)
	for _, l := range looks[1 : len(looks)-1] {
		s.False(l.in.Synced, "the settle wait refreshes")
		s.Equal(2, l.afterExports, "no sync while waiting")
	}
	s.True(last.in.Synced)
	s.Equal(4, last.afterExports, "synced again after the wait")
}
