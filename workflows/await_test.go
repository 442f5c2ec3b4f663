package workflows

import (
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

func (s *EscrowSuite) TestAwaitSetupAnswersWithTheAddressOnceReady() {
	s.wallets.install()
	delay := time.Minute
	during := s.update(delay/2, escrow.UpdateAwaitSetup) // in the first purge timer
	after := s.update(3*delay, escrow.UpdateAwaitSetup)  // the setup has ended: refused, nothing in history
	s.env.ExecuteWorkflow(Escrow, input("order-await", escrow.EscrowInput{PurgeDelay: &delay}))
	s.Require().NoError(s.env.GetWorkflowError())

	s.True(during.accepted, "accepted during the setup")
	s.Require().NoError(during.err)
	s.Equal(escrow.PhaseReady, during.state.Phase, "answered once the setup ended, not before")
	s.Equal(testAddress, during.state.Address)

	s.True(after.rejected, "refused after the setup ended")
	s.ErrorContains(after.err, "the setup has ended")
}
