package activities

import (
	"errors"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/xmr-escrow/xmr-escrow/activities/internal/failure"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// nonRetryable and expectedWait are the activity packages' shared marks (package failure).
var (
	nonRetryable = failure.NonRetryable
	expectedWait = failure.ExpectedWait
)

// staleWait is nonRetryable(escrow.ErrTypeStale, err) for funds that are only not spendable
// yet (locked, or their multisig info not imported): the workflow syncs again after a pause.
func staleWait(err error) error {
	return expectedWait(err.Error(), escrow.ErrTypeStale, temporal.ApplicationErrorOptions{NonRetryable: true, Cause: err})
}

// waitFor marks err, a step's wait for something that comes with time, benign with the
// type, retryability and cause a plain error of its own would get: Temporal names a plain Go
// error by its type (a wrapError for fmt.Errorf), so the failure the workflow sees, retry
// policies included, is the one it saw before.
func waitFor(err error) error {
	f := temporal.GetDefaultFailureConverter().ErrorToFailure(err)
	return expectedWait(err.Error(), f.GetApplicationFailureInfo().GetType(), temporal.ApplicationErrorOptions{Cause: errors.Unwrap(err)})
}

// classify turns a step's error into what Temporal should do with it: transport trouble and
// "no wallet open" are retried; anything the wallet refused on its merits ends the setup.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if appErr, ok := surfaceAppError(err); ok {
		return appErr
	}
	if walletrpc.IsRetryable(err) {
		return err
	}
	var rpcErr *walletrpc.RPCError
	if errors.As(err, &rpcErr) {
		return temporal.NewNonRetryableApplicationError(err.Error(), escrow.ErrTypeWalletRejected, err, rpcErr.Code)
	}
	return err
}

// surfaceAppError finds an ApplicationError inside err and returns one at the top, keeping
// its type, retryability, retry delay and category. Temporal reads only the top-level
// error: an ApplicationError wrapped by fmt.Errorf reaches the workflow as a retryable
// "wrapError", so a refused payout would be retried and a stale sync would not be recognised.
func surfaceAppError(err error) (error, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return nil, false
	}
	if top, ok := err.(*temporal.ApplicationError); ok && top == appErr {
		return err, true
	}
	context := strings.TrimSuffix(err.Error(), appErr.Error())
	return temporal.NewApplicationErrorWithOptions(context+appErr.Message(), appErr.Type(), temporal.ApplicationErrorOptions{
		NonRetryable:   appErr.NonRetryable(),
		Cause:          appErr.Unwrap(),
		NextRetryDelay: appErr.NextRetryDelay(),
		Category:       appErr.Category(), // an expected wait stays benign when wrapped
	}), true
}
