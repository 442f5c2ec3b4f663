package starter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// ErrSetupFailed is returned by WaitReady for an escrow whose multisig setup failed.
var ErrSetupFailed = errors.New("escrow setup failed")

// Decide sends one party's decision and returns the escrow's state after it. A decision
// the escrow refuses (wrong role, wrong state, a second decision after a final one, a bad
// address) comes back as an error saying why, and leaves no trace in the escrow's history.
func (s *Client) Decide(ctx context.Context, escrowID string, name escrow.UpdateName, in escrow.DecisionInput) (escrow.State, error) {
	return s.update(ctx, escrowID, name, in)
}

// RetryPayout resumes a parked payout (status payout_blocked) now instead of at the end of
// its back-off; MaxFeeAtomic, if set, raises this escrow's fee cap for a fee spike.
func (s *Client) RetryPayout(ctx context.Context, escrowID string, in escrow.RetryPayoutInput) (escrow.State, error) {
	return s.update(ctx, escrowID, escrow.UpdateRetryPayout, in)
}

// RestoreWallet writes a role's wallet back from its sealed backup onto a live instance,
// after the disk that held it was lost; the role's later steps go there, and a parked payout
// resumes. It returns once the wallet is restored and checked, or with why not.
func (s *Client) RestoreWallet(ctx context.Context, escrowID string, in escrow.RestoreWalletInput) (escrow.State, error) {
	return s.update(ctx, escrowID, escrow.UpdateRestoreWallet, in)
}

// update sends one update (with its input, if any) and waits for the escrow's state after it.
func (s *Client) update(ctx context.Context, escrowID string, name escrow.UpdateName, in ...any) (escrow.State, error) {
	if err := escrow.ValidateID(escrowID); err != nil {
		return escrow.State{}, err
	}
	h, err := s.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   escrow.WorkflowID(escrowID),
		UpdateName:   string(name),
		Args:         in,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return escrow.State{}, s.wrap(escrowID, string(name), err)
	}
	var st escrow.State
	if err := h.Get(ctx, &st); err != nil {
		return escrow.State{}, fmt.Errorf("%s escrow %s: %w", name, escrowID, err)
	}
	return st, nil
}

// WaitUntil polls the escrow's status until done says so, ctx ends, or the escrow's
// workflow is gone.
func (s *Client) WaitUntil(ctx context.Context, escrowID string, every time.Duration, done func(escrow.State) bool) (escrow.State, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		st, err := s.Status(ctx, escrowID)
		if err == nil && done(st) {
			return st, nil
		}
		var nf *serviceerror.NotFound
		if errors.Is(err, ErrUnknownEscrow) || errors.As(err, &nf) {
			return st, err
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return st, fmt.Errorf("wait for escrow %s: %w", escrowID, err)
		case <-t.C:
		}
	}
}

// WaitReady waits until the multisig setup ends: the state with the address, or
// ErrSetupFailed with the reason. During the setup it waits on the await-setup update, which
// answers the moment the setup ends; where that cannot answer (a workflow started before the
// update existed, or one that ended meanwhile), it polls the status query.
func (s *Client) WaitReady(ctx context.Context, escrowID string) (escrow.State, error) {
	ended := func(st escrow.State) bool { return st.Phase == escrow.PhaseReady || st.Phase == escrow.PhaseFailed }
	st, err := s.Status(ctx, escrowID)
	if err == nil && !ended(st) {
		if got, uerr := s.update(ctx, escrowID, escrow.UpdateAwaitSetup); uerr == nil && ended(got) {
			st = got
		} else if ctx.Err() == nil {
			st, err = s.WaitUntil(ctx, escrowID, 200*time.Millisecond, ended)
		}
	}
	if err == nil && st.Phase == escrow.PhaseFailed {
		return st, fmt.Errorf("escrow %s: %w: %s", escrowID, ErrSetupFailed, st.Reason)
	}
	return st, err
}
