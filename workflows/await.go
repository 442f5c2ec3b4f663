package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// setupEnded reports whether the multisig setup has an outcome: Ready or Failed.
func (e *escrowFlow) setupEnded() bool {
	return e.status.Phase == escrow.PhaseReady || e.status.Phase == escrow.PhaseFailed
}

// registerAwaitSetup installs the await-setup update: it returns the state once the setup
// ends, so a client learns of Ready the moment it happens instead of polling the status
// query. The validator refuses once the setup has ended, so a late call writes nothing to
// history (the client reads the status instead); an accepted call adds two events.
func (e *escrowFlow) registerAwaitSetup(ctx workflow.Context) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, string(escrow.UpdateAwaitSetup),
		func(ctx workflow.Context) (escrow.State, error) {
			err := workflow.Await(ctx, e.setupEnded)
			return e.status, err
		},
		workflow.UpdateHandlerOptions{Validator: func(workflow.Context) error {
			if e.setupEnded() {
				return temporal.NewApplicationError(string(escrow.UpdateAwaitSetup)+" refused: the setup has ended (phase "+string(e.status.Phase)+")", escrow.ErrTypeDecisionRejected)
			}
			return nil
		}},
	)
}
