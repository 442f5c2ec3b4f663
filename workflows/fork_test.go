package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// blocksIn is how many blocks a duration spans at the target block time.
func blocksIn(d time.Duration) uint64 { return uint64(d / escrow.BlockTime) }

// A new escrow could run 24 days with the default timing (funding, auto-release, dispute and
// the margin); the fork comes in 10: it is refused before any wallet is made, with the height.
func (s *EscrowSuite) TestANewEscrowThatWouldRunPastTheForkIsRefused() {
	s.money.fork = escrow.ForkOutlook{Height: 1_000, NextForkHeight: 1_000 + blocksIn(10*day), At: s.env.Now()}
	s.wallets.install()
	s.env.ExecuteWorkflow(Escrow, input("too-late", escrow.EscrowInput{}))
	s.Require().True(s.env.IsWorkflowCompleted())
	err := s.env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(err, &appErr), "%v", err)
	s.Equal(escrow.ErrTypeForkAhead, appErr.Type())
	st := s.status()
	s.Equal(escrow.PhaseFailed, st.Phase)
	s.Contains(st.Reason, "next hard fork at height 8200")
	s.Empty(s.wallets.calls, "no wallet was made for it")
}

// The same fork 30 days away leaves a default escrow time to settle: it goes ahead.
func (s *EscrowSuite) TestAnEscrowThatEndsBeforeTheForkGoesAhead() {
	s.money.fork = escrow.ForkOutlook{Height: 1_000, NextForkHeight: 1_000 + blocksIn(30*day), At: s.env.Now()}
	s.wallets.install()
	s.env.ExecuteWorkflow(Escrow, input("in-time", escrow.EscrowInput{}))
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.PhaseReady, s.status().Phase)
}

// A fork announced while an escrow is shipped and waiting for the buyer: the escrow flags
// itself (status, search attribute), and a later outlook that moves the fork clears the flag.
func (s *EscrowSuite) TestARunningEscrowIsFlaggedWhenTheForkWouldCatchIt() {
	s.decide(hour, escrow.UpdateMarkShipped, asVendor)
	soon := s.update(2*hour, escrow.UpdateForkOutlook, escrow.ForkOutlook{Height: 5_000, NextForkHeight: 5_000 + blocksIn(5*day), At: s.env.Now().Add(2 * hour)})
	var flagged escrow.State
	s.env.RegisterDelayedCallback(func() { flagged = s.status() }, 3*hour)
	later := s.update(4*hour, escrow.UpdateForkOutlook, escrow.ForkOutlook{Height: 5_100, NextForkHeight: 5_100 + blocksIn(90*day), At: s.env.Now().Add(4 * hour)})
	var cleared escrow.State
	s.env.RegisterDelayedCallback(func() { cleared = s.status() }, 5*hour)
	s.decide(6*hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, _ := s.runLifecycle("caught", escrow.EscrowInput{Timing: parkingTiming})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(escrow.StatusCompleted, res.Status)
	s.Require().True(soon.accepted, "%v", soon.err)
	s.Require().NotNil(flagged.ForkRisk, "flagged while shipped: 14 days of auto-release left")
	s.Equal(5_000+blocksIn(5*day), flagged.ForkRisk.ForkHeight)
	s.Require().True(later.accepted, "%v", later.err)
	s.Nil(cleared.ForkRisk, "the fork moved out of reach: the flag is cleared")
}
