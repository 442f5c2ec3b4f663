// Package failure is how every activity package marks its errors for Temporal: what no retry
// fixes, and what is only a wait. One place, so the wallet steps, the placement and the
// projection classify alike.
package failure

import "go.temporal.io/sdk/temporal"

// NonRetryable is err as a failure of type typ that no retry fixes.
func NonRetryable(typ string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, err)
}

// ExpectedWait is the one place a step's error is marked benign: a step that stands back for
// a setup, a setup that waits for a free instance, a payout that waits for its outputs to
// unlock or sync. Each is normal operation, yet the SDK logs every failed attempt at error
// level with a stack trace and counts it as a failure; benign ones it logs at debug and does
// not count. Type, retryability and retry delay stay what the caller sets (the workflows and
// retry policies match on them); only logging and metrics change.
func ExpectedWait(msg, typ string, opts temporal.ApplicationErrorOptions) error {
	opts.Category = temporal.ApplicationErrorCategoryBenign
	return temporal.NewApplicationErrorWithOptions(msg, typ, opts)
}
