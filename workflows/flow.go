package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/activities/placement"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// escrowFlow is the state of one escrow workflow; only the workflow goroutine touches it.
// The shared core is what every phase reads or publishes (the input, the status, the
// result, the projection writes); each phase's own bookkeeping is in its phase's struct, so
// a field's owner shows at every use. Of all this, only the status, the result, the version
// and the setup's wallets cross a continue-as-new (escrow.Checkpoint), with the input.
type escrowFlow struct {
	in     escrow.EscrowInput
	timing escrow.Timing
	status escrow.State
	result escrow.EscrowResult
	// projections are the projection writes not yet known to have landed; version numbers them.
	projections []workflow.Future
	version     int64
	// resumed is true in a run continued from an earlier one: the setup is behind it.
	resumed bool
	// blockedSA is set once a payout has parked: from then on the EscrowBlocked search
	// attribute is kept up to date (runs that never park never write it, so they replay).
	// A late refund parks too, and publish reads it in every phase, so the core holds it.
	blockedSA bool
	// restoring is set while a restore-wallet update runs: one at a time per escrow. The
	// update is taken in any phase once the wallets exist, so no phase owns it.
	restoring bool

	setup   setupState   // the multisig setup's instances and messages (setup.go)
	funding fundingState // the funding wait's poll and pending cancel (funding.go)
	payout  payoutState  // the payout's stale streak (payout.go)
	late    lateState    // the late-money watch's poll (late.go)
}

// changeStrictInput versions the stricter input rules (three different users), and the
// setup's check of the multisig address's network and of the payout addresses.
const changeStrictInput = "strict-input"

// capacityWait bounds how long a setup waits for idle wallet-rpc instances.
const capacityWait = 24 * time.Hour

var (
	wallet *activities.Wallet
	pool   *placement.Pool
)

func newEscrow(ctx workflow.Context, in escrow.EscrowInput) (*escrowFlow, error) {
	validate := in.ValidateOriginal
	if in.Resume == nil && version(ctx, changeStrictInput, workflow.DefaultVersion, 1) >= 1 {
		validate = in.Validate // escrows started before the strict rules replay under the old ones
	}
	if err := validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), escrow.ErrTypeInvalidInput, err)
	}
	e := &escrowFlow{
		in:     in,
		timing: in.Timing.WithDefaults(),
		status: escrow.State{
			Summary: escrow.Summary{EscrowID: in.EscrowID, Phase: escrow.PhaseNotStarted, Status: escrow.StatusSettingUp, Order: in.Order},
		},
		result: escrow.EscrowResult{EscrowID: in.EscrowID},
		setup:  setupState{delay: escrow.DefaultPurgeDelay, wallets: map[escrow.Role]string{}, infos: map[escrow.Role]string{}},
	}
	if in.PurgeDelay != nil {
		e.setup.delay = *in.PurgeDelay
	}
	if cp := in.Resume; cp != nil {
		e.status, e.version, e.result, e.resumed = cp.State, cp.Version, cp.Result, true
		// A checkpoint from before State carried the whole order lacks the parties; the
		// order itself never changes, and the input has it all.
		e.status.Order = in.Order
		if cp.Wallets != nil {
			e.setup.wallets = cp.Wallets
		}
		if cp.WatchFor > 0 {
			e.resumeWatch(ctx, cp)
		}
		e.in.Resume = nil
	}
	if err := workflow.SetQueryHandler(ctx, string(escrow.QueryStatus), func() (escrow.State, error) {
		return e.status, nil
	}); err != nil {
		return nil, err
	}
	if err := e.registerDecisions(ctx); err != nil {
		return nil, err
	}
	if err := e.registerRetryPayout(ctx); err != nil {
		return nil, err
	}
	if err := e.registerRestoreWallet(ctx); err != nil {
		return nil, err
	}
	if err := e.registerAwaitSetup(ctx); err != nil {
		return nil, err
	}
	if err := e.registerForkOutlook(ctx); err != nil {
		return nil, err
	}
	e.blockedSA = e.status.Blocked != nil
	return e, nil
}

func (e *escrowFlow) run(ctx workflow.Context) (escrow.EscrowResult, error) {
	if !e.resumed {
		e.project(ctx)
		if err := e.forkGuard(ctx); err != nil {
			e.status.Reason = failureReason(err)
			e.setPhase(ctx, escrow.PhaseFailed, 0)
			workflow.GetLogger(ctx).Warn("escrow refused before its setup", "reason", e.status.Reason)
			e.awaitProjections(ctx)
			e.result.Status = e.status.Status
			return e.result, err
		}
		addr, err := e.runSetup(ctx)
		e.returnInstances(ctx)
		if err != nil {
			reason := failureReason(err)
			e.status.Reason = reason
			e.setPhase(ctx, escrow.PhaseFailed, e.status.Round)
			workflow.GetLogger(ctx).Error("escrow setup failed", "reason", reason)
			e.awaitProjections(ctx)
			e.result.Status = e.status.Status
			return e.result, temporal.NewNonRetryableApplicationError("escrow setup failed", escrow.ErrTypeSetupFailed, err)
		}
		e.status.Address, e.status.WalletOpens = addr, e.result.WalletOpens
		e.result.Address = addr
		e.setPhase(ctx, escrow.PhaseReady, escrow.Rounds)
		workflow.GetLogger(ctx).Info("escrow ready", "address", addr)
		workflow.GetMetricsHandler(ctx).Timer(escrow.MetricSetupDuration).
			Record(workflow.Now(ctx).Sub(workflow.GetInfo(ctx).WorkflowStartTime))
		e.startFunding(ctx)
	}
	return e.lifecycle(ctx)
}

// setPhase records a setup phase change; the status follows the phase.
func (e *escrowFlow) setPhase(ctx workflow.Context, p escrow.Phase, round int) {
	e.status.Phase, e.status.Round, e.status.Status = p, round, escrow.StatusOf(p)
	workflow.GetLogger(ctx).Info("escrow phase", "phase", string(p), "round", round)
	e.publish(ctx)
}

// setStatus records a lifecycle status change.
func (e *escrowFlow) setStatus(ctx workflow.Context, st escrow.Status) {
	e.status.Status = st
	e.result.Status = st
	workflow.GetLogger(ctx).Info("escrow status", "status", string(st))
	e.publish(ctx)
}

// publish makes the current state visible: search attributes for operators, the
// projection for the marketplace. The query reads e.status directly.
func (e *escrowFlow) publish(ctx workflow.Context) {
	attrs := []temporal.SearchAttributeUpdate{
		escrow.SearchAttrPhase.ValueSet(string(e.status.Phase)),
		escrow.SearchAttrRound.ValueSet(int64(e.status.Round)),
		escrow.SearchAttrStatus.ValueSet(string(e.status.Status)),
		escrow.SearchAttrEscalated.ValueSet(e.status.Escalated),
	}
	if e.blockedSA {
		code := ""
		if b := e.status.Blocked; b != nil {
			code = string(b.Code)
		}
		attrs = append(attrs, escrow.SearchAttrBlocked.ValueSet(code))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, attrs...); err != nil {
		workflow.GetLogger(ctx).Warn("upsert search attributes", "error", err)
	}
	e.project(ctx)
}
