package workflows

import (
	"maps"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities/projection"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

var projector *projection.Projection

// projectionOptions retry a database that is down for as long as a day: a down database
// delays the marketplace's view, never the escrow.
var projectionOptions = workflow.ActivityOptions{
	TaskQueue:              escrow.EscrowTaskQueue,
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		NonRetryableErrorTypes: []string{escrow.ErrTypeInvalidInput},
	},
}

// project writes the escrow's current state to the Postgres projection without waiting for
// it: the setup goes on while the write (or its retries) runs. Each write carries the next
// version, so writes that land out of order still leave the newest state.
func (e *escrowFlow) project(ctx workflow.Context) {
	e.version++
	info := workflow.GetInfo(ctx)
	instances := map[escrow.Role]string{}
	if e.status.Assignment.Complete() {
		for _, r := range escrow.Roles {
			instances[r] = e.status.Assignment.For(r)
		}
	}
	in := projection.ProjectInput{
		Summary: escrow.Summary{
			EscrowID: e.in.EscrowID, Order: e.in.Order,
			Status: e.status.Status, Phase: e.status.Phase, Round: e.status.Round,
			Address: e.status.Address, Reason: e.projectedReason(),
		},
		Wallets: copyMap(e.setup.wallets), Instances: instances, MultisigInfos: copyMap(e.setup.infos),
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		Version: e.version, RetainBackupsFor: e.timing.LateMoneyGrace,
	}
	f := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, projectionOptions), projector.ProjectEscrow, in)
	e.projections = append(e.projections, f)
}

// awaitProjections waits for the outstanding writes before the workflow ends, because
// activities of a closed workflow are dropped. A write that failed for good is logged; the
// next one supersedes it anyway.
func (e *escrowFlow) awaitProjections(ctx workflow.Context) {
	for _, f := range e.projections {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("escrow projection write failed", "error", err)
		}
	}
	e.projections = nil
}

// copyMap snapshots m: the workflow keeps changing its maps while the write is pending.
func copyMap(m map[escrow.Role]string) map[escrow.Role]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// projectedReason is what the marketplace's row says about the escrow's trouble: why its
// payout is parked, or why it failed or was called off.
func (e *escrowFlow) projectedReason() string {
	if b := e.status.Blocked; b != nil {
		return "payout blocked (" + string(b.Code) + "): " + b.Reason
	}
	return e.status.Reason
}
