package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// changeForkGuard versions the fork guard: a new escrow asks what is known of the next hard
// fork before its setup, and is refused if its longest term would run past it.
const changeForkGuard = "fork-guard"

var chain *activities.Chain

// forkOptions give the outlook a few quick tries on the escrow task queue: a daemon that
// does not answer leaves the fork unknown, and an unknown fork refuses nothing.
func forkOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		TaskQueue:              escrow.EscrowTaskQueue,
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 2 * time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	}
}

// forkGuard refuses a new escrow whose longest term would run past the next hard fork: after
// it, a 0.18 multisig may not be able to spend, and the buyer's money could wait for months.
func (e *escrowFlow) forkGuard(ctx workflow.Context) error {
	if version(ctx, changeForkGuard, workflow.DefaultVersion, 1) < 1 {
		return nil
	}
	var o escrow.ForkOutlook
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, forkOptions()), chain.ForkOutlook).Get(ctx, &o); err != nil {
		workflow.GetLogger(ctx).Warn("the next hard fork's height is unknown (the outlook failed); the escrow goes ahead", "error", err)
		return nil
	}
	risk := e.forkRisk(ctx, o)
	if risk == nil {
		return nil
	}
	workflow.GetMetricsHandler(ctx).Counter(escrow.MetricForkRefused).Inc(1)
	msg := fmt.Sprintf("refused: the escrow could hold money until about height %d, past the next hard fork at height %d (FCMP++ and Carrot), after which its 2-of-3 multisig may not be able to spend; start it after the fork, once the new multisig is supported, or with shorter timing",
		risk.EndsBy, risk.ForkHeight)
	return temporal.NewNonRetryableApplicationError(msg, escrow.ErrTypeForkAhead, nil)
}

// forkRisk is the escrow's risk under outlook o, nil if its longest term ends before the fork.
func (e *escrowFlow) forkRisk(ctx workflow.Context, o escrow.ForkOutlook) *escrow.ForkRisk {
	if !o.Known() {
		return nil
	}
	now := workflow.Now(ctx)
	term := escrow.LongestTerm(e.in.Timing, e.status.Status, e.status.Funding.Deadline.Sub(now), e.status.AutoReleaseAt.Sub(now))
	if end := o.HeightAt(now.Add(term)); end >= o.NextForkHeight {
		return &escrow.ForkRisk{ForkHeight: o.NextForkHeight, EndsBy: end, Since: now}
	}
	return nil
}

// registerForkOutlook installs the fork-outlook update: a running escrow that may still hold
// money when the next fork activates flags itself (status fork_risk, EscrowForkRisk, metric
// xmr_escrow_fork_risk) for operators to settle it in time; a later outlook clears the flag.
func (e *escrowFlow) registerForkOutlook(ctx workflow.Context) error {
	validate := func(o escrow.ForkOutlook) error {
		switch {
		case o.NextForkHeight == 0 || o.Height == 0 || o.At.IsZero():
			return temporal.NewApplicationError("fork-outlook refused: it needs the fork's height, the chain's height and when it was read", escrow.ErrTypeDecisionRejected)
		case e.status.Status.Final():
			return temporal.NewApplicationError(fmt.Sprintf("fork-outlook refused: the escrow is %s and holds no money", e.status.Status), escrow.ErrTypeDecisionRejected)
		}
		return nil
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, string(escrow.UpdateForkOutlook),
		func(ctx workflow.Context, o escrow.ForkOutlook) (escrow.State, error) {
			if err := validate(o); err != nil {
				return e.status, err
			}
			risk := e.forkRisk(ctx, o)
			was := e.status.ForkRisk != nil
			e.status.ForkRisk = risk
			if risk != nil && !was {
				workflow.GetLogger(ctx).Warn("the escrow may still hold money when the next hard fork activates; settle it first",
					"fork_height", risk.ForkHeight, "ends_by", risk.EndsBy)
				workflow.GetMetricsHandler(ctx).Counter(escrow.MetricForkRisk).Inc(1)
			}
			if risk != nil || was {
				if err := workflow.UpsertTypedSearchAttributes(ctx, escrow.SearchAttrForkRisk.ValueSet(risk != nil)); err != nil {
					workflow.GetLogger(ctx).Warn("upsert search attributes", "error", err)
				}
				e.project(ctx)
			}
			return e.status, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, o escrow.ForkOutlook) error { return validate(o) }},
	)
}
