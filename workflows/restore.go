package workflows

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// changeRestoreWallet versions the restore-wallet update; only histories that received one
// carry its marker.
const changeRestoreWallet = "restore-wallet"

// restoreQueueWait bounds how long a restore waits for a worker to serve the target
// instance: a mistyped or dead instance fails the update instead of hanging it.
const restoreQueueWait = time.Minute

// registerRestoreWallet installs the operators' restore-wallet update: after the disk that
// held a role's wallet is lost, the wallet is written back from its sealed backup onto a
// live instance (activities.RestoreWallet checks it is the escrow's), the role moves there
// in the recorded assignment, so every later step goes to it, and a parked payout resumes.
func (e *escrowFlow) registerRestoreWallet(ctx workflow.Context) error {
	validate := func(in escrow.RestoreWalletInput) error {
		reject := func(format string, args ...any) error {
			return temporal.NewApplicationError(string(escrow.UpdateRestoreWallet)+" refused: "+fmt.Sprintf(format, args...), escrow.ErrTypeDecisionRejected)
		}
		switch n := utf8.RuneCountInString(strings.TrimSpace(in.Operator)); {
		case n == 0 || n > maxOperator:
			return reject("operator must be 1-%d characters", maxOperator)
		case !in.Role.Valid():
			return reject("unknown role %q", in.Role)
		case in.Instance == "" || len(in.Instance) > 100 || strings.ContainsAny(in.Instance, " ,;=/"):
			return reject("instance %q is not an instance name", in.Instance)
		case e.status.Address == "":
			return reject("the setup has not made the multisig wallets yet (phase %s)", e.status.Phase)
		case e.restoring:
			return reject("another restore of this escrow is running")
		}
		return nil
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, string(escrow.UpdateRestoreWallet),
		func(ctx workflow.Context, in escrow.RestoreWalletInput) (escrow.State, error) {
			if err := validate(in); err != nil {
				return e.status, err
			}
			e.restoring = true
			defer func() { e.restoring = false }()
			version(ctx, changeRestoreWallet, workflow.DefaultVersion, 1)
			opts := walletOptions(createTimeout)
			opts.TaskQueue = escrow.WalletTaskQueue(in.Instance)
			opts.ScheduleToStartTimeout = restoreQueueWait
			opts.RetryPolicy.MaximumAttempts = 5
			opts.RetryPolicy.NonRetryableErrorTypes = append(opts.RetryPolicy.NonRetryableErrorTypes, escrow.ErrTypeRestoreRefused)
			var res activities.RestoreResult
			req := activities.RestoreInput{EscrowID: e.in.EscrowID, Role: in.Role, Address: e.status.Address}
			if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), wallet.RestoreWallet, req).Get(ctx, &res); err != nil {
				workflow.GetLogger(ctx).Warn("wallet restore failed; the assignment is unchanged", "role", string(in.Role), "instance", in.Instance, "error", err)
				return e.status, err
			}
			was := e.status.Assignment.For(in.Role)
			e.status.Assignment = e.status.Assignment.With(in.Role, in.Instance, res.Host)
			e.result.Assignment = e.status.Assignment
			e.record(ctx, escrow.Decision{Update: escrow.UpdateRestoreWallet, ActorID: strings.TrimSpace(in.Operator),
				Detail: fmt.Sprintf("%s wallet restored from backup stage %d onto %s (was on %s)", in.Role, res.Stage, in.Instance, was)})
			workflow.GetLogger(ctx).Info("wallet restored from backup", "role", string(in.Role), "instance", in.Instance, "was", was, "stage", res.Stage)
			if b := e.status.Blocked; b != nil {
				b.RetryRequested = true // the payout parked on the lost wallet goes on now
			}
			e.project(ctx)
			return e.status, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, in escrow.RestoreWalletInput) error { return validate(in) }},
	)
}
