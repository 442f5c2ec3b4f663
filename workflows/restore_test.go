package workflows

import (
	"context"
	"slices"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// restoreTo scripts RestoreWallet: it succeeds for the escrow's address, or refuses with
// refusal, and records the queue it ran on.
func (s *EscrowSuite) restoreTo(refusal string) *[]string {
	var ran []string
	s.env.OnActivity(wallet.RestoreWallet, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.RestoreInput) (activities.RestoreResult, error) {
			ran = append(ran, activity.GetInfo(ctx).TaskQueue)
			s.Equal(testAddress, in.Address, "the restore checks the wallet against the recorded address")
			if refusal != "" {
				return activities.RestoreResult{}, temporal.NewNonRetryableApplicationError(refusal, escrow.ErrTypeRestoreRefused, nil)
			}
			return activities.RestoreResult{Instance: "rpc-9", Stage: activities.BackupStageReady, Restored: true}, nil
		})
	return &ran
}

// TestARestoredWalletTakesTheRolesLaterSteps: the vendor's disk is lost after funding; an
// operator restores the vendor's wallet onto rpc-9, and the release's vendor steps go there.
func (s *EscrowSuite) TestARestoredWalletTakesTheRolesLaterSteps() {
	ran := s.restoreTo("")
	restored := s.update(hour, escrow.UpdateRestoreWallet, escrow.RestoreWalletInput{Operator: "ops-ana", Role: escrow.Vendor, Instance: "rpc-9"})
	s.decide(2*hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("restored", escrow.EscrowInput{})
	s.Require().True(restored.accepted, "%v", restored.err)
	s.Require().NoError(restored.err)
	s.Equal([]string{escrow.WalletTaskQueue("rpc-9")}, *ran, "the restore runs on the receiving instance")
	s.Equal("rpc-9", restored.state.Assignment.Vendor)
	s.Equal(escrow.Assignment{Buyer: "rpc-1", Vendor: "rpc-9", Arbiter: "rpc-3"}, res.Assignment)
	s.Equal(escrow.StatusCompleted, st.Status)
	s.Contains(s.money.steps, "export:vendor on "+escrow.WalletTaskQueue("rpc-9"))
	s.True(slices.ContainsFunc(st.Decisions, func(d escrow.Decision) bool {
		return d.Update == escrow.UpdateRestoreWallet && d.ActorID == "ops-ana"
	}), "the restore is in the audit trail: %+v", st.Decisions)
}

// TestARefusedRestoreChangesNothing: a backup of another wallet (or an instance holding
// another wallet of that name) is refused by the activity; the role stays where it was.
func (s *EscrowSuite) TestARefusedRestoreChangesNothing() {
	s.restoreTo("backup of escrow restored role vendor has another address")
	refused := s.update(hour, escrow.UpdateRestoreWallet, escrow.RestoreWalletInput{Operator: "ops-ana", Role: escrow.Vendor, Instance: "rpc-9"})
	s.decide(2*hour, escrow.UpdateConfirmReceipt, asBuyer)
	res, st := s.runLifecycle("refused", escrow.EscrowInput{})
	s.True(refused.accepted)
	s.ErrorContains(refused.err, "another address")
	s.Equal(escrow.Assignment{Buyer: "rpc-1", Vendor: "rpc-2", Arbiter: "rpc-3"}, res.Assignment)
	s.Equal(escrow.StatusCompleted, st.Status, "the escrow goes on on its own wallets")
}

// TestARestoreIsRefusedBeforeTheWalletsExistOrForNoRole: the validator turns away a restore
// during setup, an unknown role, a missing operator and a name that is not an instance.
func (s *EscrowSuite) TestARestoreIsRefusedBeforeTheWalletsExistOrForNoRole() {
	s.restoreTo("")
	early := s.update(0, escrow.UpdateRestoreWallet, escrow.RestoreWalletInput{Operator: "ops", Role: escrow.Vendor, Instance: "rpc-9"})
	bad := []*outcome{
		s.update(hour, escrow.UpdateRestoreWallet, escrow.RestoreWalletInput{Operator: "ops", Role: "treasurer", Instance: "rpc-9"}),
		s.update(hour, escrow.UpdateRestoreWallet, escrow.RestoreWalletInput{Role: escrow.Vendor, Instance: "rpc-9"}),
		s.update(hour, escrow.UpdateRestoreWallet, escrow.RestoreWalletInput{Operator: "ops", Role: escrow.Vendor, Instance: "a/b"}),
	}
	s.decide(2*hour, escrow.UpdateConfirmReceipt, asBuyer)
	_, st := s.runLifecycle("early", escrow.EscrowInput{})
	s.True(early.rejected, "no wallet to restore during setup: %v", early.err)
	for i, o := range bad {
		s.True(o.rejected, "input %d: %v", i, o.err)
	}
	s.Equal("rpc-2", st.Assignment.Vendor)
}

// TestARestoreResumesAPayoutParkedOnTheLostWallet: the release parks because the vendor's
// wallet is gone (it will not open), with a day's back-off; the operator's restore resumes it
// at once, on the new instance.
func (s *EscrowSuite) TestARestoreResumesAPayoutParkedOnTheLostWallet() {
	s.restoreTo("")
	s.money.unopenable = 1
	s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
	var parked escrow.State
	var start time.Time
	s.env.RegisterDelayedCallback(func() { start = s.env.Now().Add(-2 * hour); parked = s.status() }, 2*hour)
	restored := s.update(2*hour+time.Minute, escrow.UpdateRestoreWallet, escrow.RestoreWalletInput{Operator: "ops-ana", Role: escrow.Vendor, Instance: "rpc-9"})
	_, st := s.runLifecycle("parked", escrow.EscrowInput{Timing: escrow.Timing{PayoutRetry: day, PayoutRetryMax: day, LateMoneyGrace: time.Minute}})
	s.Require().NoError(restored.err)
	s.Equal(escrow.StatusPayoutBlocked, parked.Status, "parked on the wallet that will not open")
	s.Less(s.money.submittedAt.Sub(start), 3*hour, "resumed by the restore, not a day later by its back-off")
	s.Contains(s.money.steps, "export:vendor on "+escrow.WalletTaskQueue("rpc-9"))
	s.Equal(escrow.StatusCompleted, st.Status)
}
