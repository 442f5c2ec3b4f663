package workflows

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// Step timeouts. A create costs up to a few CPU-seconds, more on a loaded machine; the
// heartbeat timeout notices a dead worker long before start-to-close does.
const (
	createTimeout    = 3 * time.Minute
	stepTimeout      = 2 * time.Minute
	heartbeatTimeout = 15 * time.Second
)

// walletOptions are the activity options of a wallet step. Retries are unbounded with
// back-off: a wallet-rpc that is down makes its steps wait, not the escrow fail; what a
// retry cannot fix comes back as a non-retryable error.
func walletOptions(startToClose time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: startToClose,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
			NonRetryableErrorTypes: []string{
				escrow.ErrTypeInvalidInput,
				escrow.ErrTypeWalletRejected,
				escrow.ErrTypeProtocol,
			},
		},
	}
}

// each runs one step for all three roles, each on its role's wallet-rpc task queue, so the
// steps run in parallel when the roles sit on different instances. It waits for all of them
// and returns their results in escrow.Roles order, or the first error in that order.
func each[In, Out any](ctx workflow.Context, e *escrowFlow, opts workflow.ActivityOptions, step func(context.Context, In) (Out, error), input func(escrow.Role) In) ([]Out, error) {
	return both(ctx, e, opts, escrow.Roles, step, input)
}

// both runs one step for the given roles in parallel, like each.
func both[In, Out any](ctx workflow.Context, e *escrowFlow, opts workflow.ActivityOptions, roles []escrow.Role, step func(context.Context, In) (Out, error), input func(escrow.Role) In) ([]Out, error) {
	futures := make([]workflow.Future, len(roles))
	for i, r := range roles {
		futures[i] = workflow.ExecuteActivity(e.on(ctx, r, opts), step, input(r))
	}
	out := make([]Out, len(futures))
	var first error
	for i, f := range futures {
		if err := f.Get(ctx, &out[i]); err != nil && first == nil {
			first = err
		}
	}
	return out, first
}

// pollOptions are for a check that is repeated on a timer anyway (funding, confirmations):
// a few quick retries, then the next poll tries again, so a wallet-rpc that is down does
// not pile up retries.
func pollOptions() workflow.ActivityOptions {
	o := walletOptions(stepTimeout)
	o.ScheduleToCloseTimeout = 5 * time.Minute
	o.RetryPolicy.MaximumAttempts = 5
	return o
}
