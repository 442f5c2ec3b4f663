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
	a, b := st.Payout.Signers[0], st.Payout.Signers[1]
	s.Less(stepAt(s.money.steps, "import:"+string(b)+"<-export-of-"+string(a)), stepAt(s.money.steps, "sign:"+string(b)),
		"the co-signer's import, left running during the build, is in before it signs")
}

// stepAt is the index of the first step named want, or len(steps).
func stepAt(steps []string, want string) int {
	for i, st := range steps {
		if st == want {
			return i
		}
	}
	return len(steps)
}

// The co-signer's import, which runs while the first signer looks and builds, finds stale data:
// the attempt stops before anything is signed, and the next one syncs both again and pays once.
func (s *EscrowSuite) TestAFailedImportIntoTheCoSignerStopsTheAttemptBeforeItSigns() {
	s.money.staleImportsInto = map[escrow.Role]int{escrow.Vendor: 1}
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("lean-stale-import", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Require().Equal(escrow.Vendor, st.Payout.Signers[1], "a release: the vendor co-signs")
	s.Len(s.money.signed, 1, "nothing signed in the attempt whose import failed")
	s.Equal(1, s.money.submits)
	s.Equal(4, s.money.exports, "both signers export again")
	s.Equal(2, st.Payout.Attempts)
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
