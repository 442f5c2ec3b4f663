package integration

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// rogueOrder is what a rogue workflow asks of an escrow's wallet-rpc queue.
type rogueOrder struct {
	Queue    string `json:"queue"`
	EscrowID string `json:"escrow_id"`
}

// rogueSign schedules SignPayout for another workflow's escrow on that escrow's wallet-rpc
// task queue, as any client of the namespace could.
func rogueSign(ctx workflow.Context, o rogueOrder) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: o.Queue, StartToCloseTimeout: time.Minute, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	in := activities.SignPayoutInput{EscrowID: o.EscrowID, Role: escrow.Vendor, Txset: "a set paying the rogue", Address: vendorAddr,
		FundedAtomic: 1, MaxFeeAtomic: 1}
	return workflow.ExecuteActivity(ctx, "SignPayout", in).Get(ctx, nil)
}

// TestARogueWorkflowCallingSignPayoutOnAnEscrowsInstanceIsRefused: a workflow of the
// namespace, on its own task queue and holding the payload key, schedules SignPayout for a
// real escrow on the co-signer's wallet-rpc queue; so does one that registers itself under
// the escrow's workflow type. The wallet worker refuses both before the wallet sees anything:
// the server says who scheduled the step, and it is not the escrow's own workflow.
func TestARogueWorkflowCallingSignPayoutOnAnEscrowsInstanceIsRefused(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := s.Starter.Start(ctx, input("victim", 0))
	require.NoError(t, err)
	st, err := s.Starter.WaitReady(ctx, "victim")
	require.NoError(t, err)

	w := sdkworker.New(s.Client, "rogue", sdkworker.Options{})
	w.RegisterWorkflowWithOptions(rogueSign, workflow.RegisterOptions{Name: "Rogue"})
	w.RegisterWorkflowWithOptions(rogueSign, workflow.RegisterOptions{Name: escrow.WorkflowType})
	require.NoError(t, w.Start())
	defer w.Stop()

	order := rogueOrder{Queue: escrow.WalletTaskQueue(st.Assignment.Vendor), EscrowID: "victim"}
	for _, typ := range []string{"Rogue", escrow.WorkflowType} {
		run, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "rogue-as-" + typ, TaskQueue: "rogue"}, typ, order)
		require.NoError(t, err)
		err = run.Get(ctx, nil)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), "%s: the step is refused: %v", typ, err)
		assert.Equal(t, escrow.ErrTypeForeignCaller, appErr.Type(), typ)
		assert.Contains(t, appErr.Error(), "not by that escrow's own workflow", typ)
	}
	st, err = s.Starter.Status(ctx, "victim")
	require.NoError(t, err)
	assert.Equal(t, escrow.StatusAwaitingFunding, st.Status, "the escrow goes on untouched")
}
