package activities

import (
	"errors"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

func nonRetryable(typ string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, err)
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
// its type and retryability. Temporal reads only the top-level error: an ApplicationError
// wrapped by fmt.Errorf reaches the workflow as a retryable "wrapError", so a refused payout
// would be retried and a stale sync would not be recognised.
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
		NonRetryable: appErr.NonRetryable(),
		Cause:        appErr.Unwrap(),
	}), true
}
