package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// changeWaitForUnlock versions the payout's wait for unlocked funds (workflow.GetVersion).
const changeWaitForUnlock = "payout-waits-for-unlock"

// errNotYet ends a payout turn that is waiting for funds to unlock.
var errNotYet = errors.New("payout waits for the funds to unlock")

// Payout limits.
const (
	// maxPayoutAttempts bounds how often a payout is rebuilt from a fresh export/import
	// after the signers' multisig state went stale.
	maxPayoutAttempts = 5
	// maxFeeAtomic is the most fee a signer accepts (0.01 XMR); never more than half the
	// escrow either.
	maxFeeAtomic = 10_000_000_000
)

// payout sends the decided payout once and counts its confirmations until the escrow is
// completed (release) or refunded.
func (e *escrowFlow) payout(ctx workflow.Context) error {
	p := e.status.Payout
	if !p.Submitted {
		err := e.sendPayout(ctx)
		if errors.Is(err, errNotYet) {
			return nil // the lifecycle comes back here, after a continue-as-new if due
		}
		if err != nil {
			e.status.Reason = "payout failed: " + failureReason(err)
			workflow.GetLogger(ctx).Error("payout failed; the funds stay in the multisig", "reason", e.status.Reason)
			e.publish(ctx)
			e.awaitProjections(ctx)
			return temporal.NewNonRetryableApplicationError("escrow payout failed", ErrTypePayoutFailed, err)
		}
	}
	return e.confirmPayout(ctx)
}

// sendPayout builds, checks, signs and submits. A stale multisig state (nonces used by
// an earlier attempt, outputs not imported) restarts from the export/import; nothing is
// broadcast before the submit, so a restart is safe, and the submit itself recognises a
// transaction it already sent.
func (e *escrowFlow) sendPayout(ctx workflow.Context) error {
	p := e.status.Payout
	for {
		// Funds that are still locked (a refund of a payment that is confirming) are waited
		// for here, without spending attempts or syncing the signers for nothing. Escrows
		// whose payout started before this check existed replay without it.
		if workflow.GetVersion(ctx, changeWaitForUnlock, workflow.DefaultVersion, 1) == 1 && !e.unlocked(ctx, p.Signers[0]) {
			if err := workflow.Sleep(ctx, e.timing.PayoutPoll); err != nil {
				return err
			}
			if e.historyFull(ctx) {
				return errNotYet
			}
			continue
		}
		p.Attempts++
		err := e.tryPayout(ctx, p)
		var appErr *temporal.ApplicationError
		if err == nil || !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeStale || p.Attempts >= maxPayoutAttempts {
			return err
		}
		workflow.GetLogger(ctx).Warn("payout attempt found stale multisig state; syncing again", "attempt", p.Attempts)
		if err := workflow.Sleep(ctx, e.timing.PayoutPoll); err != nil {
			return err
		}
	}
}

// unlocked reports whether the escrow holds spendable funds; a failed check says no.
func (e *escrowFlow) unlocked(ctx workflow.Context, r escrow.Role) bool {
	var funds activities.BalanceResult
	err := workflow.ExecuteActivity(e.on(ctx, r, pollOptions()), wallet.SpendableBalance, e.walletInput(r)).Get(ctx, &funds)
	return err == nil && funds.UnlockedAtomic > 0
}

func (e *escrowFlow) tryPayout(ctx workflow.Context, p *escrow.Payout) error {
	a, b := p.Signers[0], p.Signers[1]
	opts := payoutOptions()
	// Both signers learn each other's partial key images and nonces.
	exports, err := both(ctx, e, opts, []escrow.Role{a, b}, wallet.ExportMultisigInfo, e.walletInput)
	if err != nil {
		return err
	}
	if _, err := both(ctx, e, opts, []escrow.Role{a, b}, wallet.ImportMultisigInfo, func(r escrow.Role) activities.ImportInput {
		other := exports[0].Info
		if r == a {
			other = exports[1].Info
		}
		return activities.ImportInput{EscrowID: e.in.EscrowID, Role: r, Infos: []string{other}}
	}); err != nil {
		return err
	}
	// What the escrow can spend now: the signer checks the payout against it.
	var funds activities.BalanceResult
	if err := workflow.ExecuteActivity(e.on(ctx, a, opts), wallet.SpendableBalance, e.walletInput(a)).Get(ctx, &funds); err != nil {
		return err
	}
	if funds.UnlockedAtomic == 0 || funds.ImportNeeded {
		// The sync did not take: try again from the export.
		return temporal.NewNonRetryableApplicationError("the signers' sync did not take", activities.ErrTypeStale, nil)
	}
	var created activities.CreatePayoutResult
	if err := workflow.ExecuteActivity(e.on(ctx, a, opts), wallet.CreatePayout,
		activities.PayoutInput{EscrowID: e.in.EscrowID, Role: a, Address: p.Address}).Get(ctx, &created); err != nil {
		return err
	}
	var signed activities.SignPayoutResult
	if err := workflow.ExecuteActivity(e.on(ctx, b, opts), wallet.SignPayout, activities.SignPayoutInput{
		EscrowID: e.in.EscrowID, Role: b, Txset: created.Txset, Address: p.Address,
		FundedAtomic: funds.UnlockedAtomic, MaxFeeAtomic: min(maxFeeAtomic, funds.UnlockedAtomic/2),
	}).Get(ctx, &signed); err != nil {
		return err
	}
	// Record the hash before submitting: after a crash the submit recognises it by hash.
	p.TxHash, p.AmountAtomic, p.FeeAtomic = signed.TxHash, signed.AmountAtomic, signed.FeeAtomic
	e.publish(ctx)
	var sent activities.TxStatusResult
	if err := workflow.ExecuteActivity(e.on(ctx, b, opts), wallet.SubmitPayout, activities.SubmitInput{
		EscrowID: e.in.EscrowID, Role: b, SignedTx: signed.SignedTx, TxHash: signed.TxHash,
	}).Get(ctx, &sent); err != nil {
		return err
	}
	p.Submitted = true
	workflow.GetLogger(ctx).Info("payout submitted", "tx_hash", p.TxHash, "amount", p.AmountAtomic, "fee", p.FeeAtomic)
	e.publish(ctx)
	return nil
}

// confirmPayout polls the submitting signer's wallet on a durable timer until the payout
// is deep enough. It returns early when the history is long, so the lifecycle can
// continue as new; the next run resumes here.
func (e *escrowFlow) confirmPayout(ctx workflow.Context) error {
	p := e.status.Payout
	b := p.Signers[1]
	for p.Confirmations < e.timing.PayoutConfirmations {
		st := activities.TxStatusResult{Confirmations: p.Confirmations}
		if err := workflow.ExecuteActivity(e.on(ctx, b, pollOptions()), wallet.PayoutStatus,
			activities.TxStatusInput{EscrowID: e.in.EscrowID, Role: b, TxHash: p.TxHash}).Get(ctx, &st); err != nil {
			workflow.GetLogger(ctx).Warn("payout status check failed; checking again later", "error", err)
			st.Confirmations = p.Confirmations
		}
		if st.Confirmations != p.Confirmations {
			p.Confirmations = st.Confirmations
			e.publish(ctx)
		}
		if p.Confirmations >= e.timing.PayoutConfirmations || e.historyFull(ctx) {
			break
		}
		if err := workflow.Sleep(ctx, e.timing.PayoutPoll); err != nil {
			return err
		}
	}
	if p.Confirmations < e.timing.PayoutConfirmations {
		return nil
	}
	final := escrow.StatusCompleted
	if p.Kind == escrow.PayoutRefund {
		final = escrow.StatusRefunded
	}
	e.setStatus(ctx, final)
	return nil
}

// payoutOptions add the payout's own non-retryable errors to the wallet step options.
func payoutOptions() workflow.ActivityOptions {
	o := walletOptions(stepTimeout)
	o.RetryPolicy.NonRetryableErrorTypes = append(o.RetryPolicy.NonRetryableErrorTypes,
		activities.ErrTypeStale, activities.ErrTypePayoutRejected)
	return o
}
