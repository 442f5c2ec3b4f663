package workflows

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// park records that the current payout cannot proceed: the escrow shows payout_blocked
// with the reason (query, search attribute EscrowBlocked, metric), and the payout is tried
// again after a back-off, or at once when an operator sends retry-payout. A late refund
// parks the same way but keeps the escrow's final status.
func (e *escrowFlow) park(ctx workflow.Context, err error) {
	now := workflow.Now(ctx)
	b := e.status.Blocked
	p := e.status.Payout
	if e.status.LateRefund != nil {
		p = e.status.LateRefund
	}
	exact := p != nil && p.Rules >= escrow.ExactShares
	if b == nil {
		b = &escrow.PayoutBlock{Since: now, From: e.status.Status}
		if exact {
			b.Retries = p.Parks // the back-off goes on growing across unparks
		}
		e.status.Blocked = b
	}
	b.Code, b.Reason = blockCode(err), failureReason(err)
	if b.Code == escrow.BlockUnreachable {
		b.Reason = "the wallet-rpc or its daemon did not answer, retries ran out: " + b.Reason
	}
	b.Retries++
	if exact {
		p.Parks = b.Retries
	}
	wait := e.timing.PayoutRetry
	for i := 1; i < b.Retries && wait < e.timing.PayoutRetryMax; i++ {
		wait *= 2
	}
	b.NextRetryAt = now.Add(min(wait, e.timing.PayoutRetryMax))
	e.blockedSA = true
	if e.status.LateRefund == nil {
		e.status.Status = escrow.StatusPayoutBlocked
		e.result.Status = escrow.StatusPayoutBlocked
	}
	workflow.GetLogger(ctx).Warn("payout parked", "code", string(b.Code), "reason", b.Reason, "retries", b.Retries, "next_retry_at", b.NextRetryAt)
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"reason": string(b.Code)}).Counter(escrow.MetricPayoutBlocked).Inc(1)
	e.publish(ctx)
}

// awaitRetry waits out a parked payout's back-off (or an operator's retry-payout), then
// unparks it. It returns with e.status.Blocked still set when only part of the wait has
// passed, so the lifecycle can continue as new in between.
func (e *escrowFlow) awaitRetry(ctx workflow.Context, b *escrow.PayoutBlock) error {
	if d := b.NextRetryAt.Sub(workflow.Now(ctx)); d > 0 && !b.RetryRequested {
		if _, err := workflow.AwaitWithTimeout(ctx, d, func() bool { return b.RetryRequested }); err != nil {
			return err
		}
		if !b.RetryRequested && workflow.Now(ctx).Before(b.NextRetryAt) {
			return nil
		}
	}
	workflow.GetLogger(ctx).Info("parked payout tried again", "code", string(b.Code), "operator_request", b.RetryRequested)
	e.status.Blocked = nil
	if e.status.Status == escrow.StatusPayoutBlocked {
		e.status.Status, e.result.Status = b.From, b.From
	}
	e.publish(ctx)
	return nil
}

// blockCode sorts a payout failure into the word operators filter on.
func blockCode(err error) escrow.BlockCode {
	switch {
	case isType(err, string(escrow.BlockLocked)):
		return escrow.BlockLocked
	case isType(err, string(escrow.BlockFundsMissing)):
		return escrow.BlockFundsMissing
	case isType(err, escrow.ErrTypeStale):
		return escrow.BlockStale
	case isType(err, escrow.ErrTypePayoutRejected):
		return escrow.BlockRejected
	case isType(err, escrow.ErrTypeWalletRejected), isType(err, escrow.ErrTypeInvalidInput), isType(err, escrow.ErrTypeProtocol):
		return escrow.BlockWallet
	}
	return escrow.BlockUnreachable // retries ran out on a wallet-rpc or daemon that did not answer
}

// maxOperator bounds the operator's name recorded by retry-payout.
const maxOperator = 200

// registerRetryPayout installs the operators' retry-payout update: it resumes a parked
// payout now and may raise this escrow's fee cap for a fee spike.
func (e *escrowFlow) registerRetryPayout(ctx workflow.Context) error {
	validate := func(in escrow.RetryPayoutInput) error {
		reject := func(format string, args ...any) error {
			return temporal.NewApplicationError(string(escrow.UpdateRetryPayout)+" refused: "+fmt.Sprintf(format, args...), escrow.ErrTypeDecisionRejected)
		}
		if n := utf8.RuneCountInString(strings.TrimSpace(in.Operator)); n == 0 || n > maxOperator {
			return reject("operator must be 1-%d characters", maxOperator)
		}
		if e.status.Blocked == nil {
			return reject("no payout is parked (status %s)", e.status.Status)
		}
		if in.MaxFeeAtomic > uint64(e.in.AmountAtomic)/10 {
			return reject("a fee cap of %d is more than a tenth of the escrow", in.MaxFeeAtomic)
		}
		return nil
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, string(escrow.UpdateRetryPayout),
		func(ctx workflow.Context, in escrow.RetryPayoutInput) (escrow.State, error) {
			if e.status.Blocked == nil {
				return e.status, validate(in)
			}
			p := e.status.Payout
			if e.status.LateRefund != nil {
				p = e.status.LateRefund
			}
			detail := "resume"
			if in.MaxFeeAtomic > 0 && p != nil {
				p.MaxFeeAtomic = in.MaxFeeAtomic
				detail = fmt.Sprintf("resume; fee cap %d", in.MaxFeeAtomic)
			}
			e.record(ctx, escrow.Decision{Update: escrow.UpdateRetryPayout, ActorID: strings.TrimSpace(in.Operator), Detail: detail})
			e.status.Blocked.RetryRequested = true
			return e.status, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, in escrow.RetryPayoutInput) error { return validate(in) }},
	)
}
