package starter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// ErrStillRunning is a resume-watch for an escrow whose run has not ended: its watch is on.
var ErrStillRunning = errors.New("the escrow's run has not ended; its watch is still on")

// ResumeWatch starts a finished escrow's late-money watch again for `grace`: a new run of
// the escrow under its own workflow ID, carrying the finished run's state, so time-locked
// payments that unlocked after the grace period (the status's leftover lists them) are
// refunded to the buyer. The operator's name is recorded in the decisions.
func (s *Client) ResumeWatch(ctx context.Context, escrowID, operator string, grace time.Duration) (Run, error) {
	if err := escrow.ValidateID(escrowID); err != nil {
		return Run{}, err
	}
	if n := len(strings.TrimSpace(operator)); n == 0 || n > 200 {
		return Run{}, fmt.Errorf("resume-watch escrow %s: operator must be 1-200 characters", escrowID)
	}
	if grace <= 0 {
		return Run{}, fmt.Errorf("resume-watch escrow %s: the watch needs a positive duration, got %s", escrowID, grace)
	}
	d, err := s.c.DescribeWorkflow(ctx, escrow.WorkflowID(escrowID), "")
	if err != nil {
		return Run{}, s.wrap(escrowID, "resume-watch", err)
	}
	if d.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return Run{}, fmt.Errorf("resume-watch escrow %s: %w", escrowID, ErrStillRunning)
	}
	st, err := s.Status(ctx, escrowID)
	if err != nil {
		return Run{}, err
	}
	if !st.Status.Final() || st.Status == escrow.StatusFailed || st.Address == "" {
		return Run{}, fmt.Errorf("resume-watch escrow %s: it ended %s, with no watch to resume", escrowID, st.Status)
	}
	in, err := s.existingInput(ctx, escrowID)
	if err != nil {
		return Run{}, fmt.Errorf("resume-watch escrow %s: %w", escrowID, err)
	}
	in.Resume = &escrow.Checkpoint{State: st, Result: escrow.EscrowResult{EscrowID: escrowID, Status: st.Status, Address: st.Address,
		Assignment: st.Assignment, Payout: st.Payout, Leftover: st.Leftover}, WatchFor: grace, Operator: strings.TrimSpace(operator)}
	opts := StartOptions(escrowID)
	// The one place a closed escrow's ID starts again: its run ended, and this one carries
	// its state on.
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	wr, err := s.c.ExecuteWorkflow(ctx, opts, escrow.WorkflowType, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return Run{}, fmt.Errorf("resume-watch escrow %s: %w", escrowID, ErrStillRunning)
	}
	if err != nil {
		return Run{}, fmt.Errorf("resume-watch escrow %s: %w", escrowID, err)
	}
	return Run{EscrowID: escrowID, WorkflowID: wr.GetID(), RunID: wr.GetRunID()}, nil
}
