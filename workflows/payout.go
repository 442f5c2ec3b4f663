package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// Versioned changes of the payout (workflow.GetVersion); escrows whose payout started
// before a change replay without it.
const (
	// changeWaitForUnlock: the payout waits for unlocked funds without spending attempts.
	changeWaitForUnlock = "payout-waits-for-unlock"
	// changePayoutParks: the payout waits until everything confirmed is spendable and sweeps
	// it all, parks as payout_blocked instead of failing, and rebuilds a payout that vanished.
	changePayoutParks = "payout-parks"
)

// errNotYet ends a payout turn that is waiting for funds to unlock.
var errNotYet = errors.New("payout waits for the funds to unlock")

// Payout limits.
const (
	// maxPayoutAttempts bounds, in escrows that predate changePayoutParks, how often a
	// payout is rebuilt after the signers' multisig state went stale.
	maxPayoutAttempts = 5
	// staleBeforePark is how many stale attempts in a row are retried quietly before the
	// payout parks (it keeps retrying, visibly): a flood of dust payments can make every
	// attempt stale, and must not exhaust anything.
	staleBeforePark = 3
	// maxFeeAtomic is the most fee a signer accepts (0.01 XMR), or feePercent of the sweep
	// when that is more, unless an operator raised this escrow's cap; never more than half
	// the escrow either.
	maxFeeAtomic = 10_000_000_000
	// feePercent lets the fee grow with the sweep: every dust payment adds an input to it,
	// and the attack must not be able to price the payout out of its cap.
	feePercent = 1
)

// feeCapFor is the fee the co-signer accepts for a sweep of funded.
func feeCapFor(p *escrow.Payout, funded uint64) uint64 {
	if p.MaxFeeAtomic > 0 {
		return p.MaxFeeAtomic
	}
	return max(maxFeeAtomic, funded/100*feePercent)
}

// payoutState is the payout's own in-memory state, for whichever payout is being driven
// (the escrow's, or a late refund during the late-money watch). It is not in the
// checkpoint: a new run counts its stale streak from 0, which at worst delays a park by a
// few quiet tries.
type payoutState struct {
	// stale counts payout attempts in a row that found the multisig state stale.
	stale int
}

// retryQuietly counts an attempt that failed with err, and reports whether it is tried again
// without parking: a stale multisig state, fewer than staleBeforePark times in a row.
// Anything else ends the streak.
func (s *payoutState) retryQuietly(err error) bool {
	if isType(err, escrow.ErrTypeStale) && s.stale < staleBeforePark {
		s.stale++
		return true
	}
	s.stale = 0
	return false
}

// parks reports whether this run follows changePayoutParks.
func (e *escrowFlow) parks(ctx workflow.Context) bool {
	return version(ctx, changePayoutParks, workflow.DefaultVersion, 1) >= 1
}

// runPayout sends the decided payout and counts its confirmations until the escrow is
// completed (release) or refunded. It returns early (nil) when the lifecycle should check
// its history length; the next turn resumes from the state.
func (e *escrowFlow) runPayout(ctx workflow.Context) error {
	p := e.status.Payout
	if !e.parks(ctx) {
		return e.legacyPayout(ctx, p)
	}
	done, err := e.payoutTurn(ctx, p)
	if err != nil || !done {
		return err
	}
	if !p.Submitted {
		// Only the refund of a payment that never confirmed ends with nothing to pay.
		e.status.Reason = "nothing to refund: the payment that prompted the refund never confirmed (dropped from the pool or reorged away)"
		workflow.GetLogger(ctx).Warn("payout found nothing to pay", "reason", e.status.Reason)
		e.setStatus(ctx, escrow.StatusCancelled)
		return nil
	}
	e.settled(ctx, p)
	return nil
}

// settled gives the escrow the final status of its confirmed payout.
func (e *escrowFlow) settled(ctx workflow.Context, p *escrow.Payout) {
	final := escrow.StatusCompleted
	if p.Kind == escrow.PayoutRefund {
		final = escrow.StatusRefunded
	}
	e.setStatus(ctx, final)
}

// payoutTurn drives p until it is deep enough (done), parking on anything that stops it.
// Nothing here fails the workflow: money in a multisig always has a workflow watching it.
func (e *escrowFlow) payoutTurn(ctx workflow.Context, p *escrow.Payout) (done bool, err error) {
	if p.Rules >= escrow.ExactShares {
		return e.exactTurn(ctx, p)
	}
	for !e.historyFull(ctx) {
		switch step, err := e.followPayout(ctx, p); step {
		case turnEnds:
			return false, err
		case turnDone:
			return true, nil
		case turnVanished:
			workflow.GetLogger(ctx).Warn("payout vanished (failed, double spent or dropped); building it again", "tx_hashes", p.TxHashes)
			p.Submitted, p.TxHash, p.TxHashes, p.Confirmations = false, "", nil, 0
			p.Rebuilds++
			e.publish(ctx)
			continue
		}
		if e.adoptSubmitted(ctx, p) {
			continue
		}
		err := e.awaitSpendable(ctx, p)
		if errors.Is(err, errNotYet) {
			return false, nil
		}
		if err == nil {
			p.Attempts++
			if err = e.tryPayout(ctx, p, true); err == nil {
				e.payout.stale = 0 // the streak is over
				continue
			}
		}
		if err := e.retryOrPark(ctx, p, err); err != nil {
			return false, err
		}
	}
	return false, nil
}

// retryOrPark syncs a payout whose multisig state went stale again, quietly, or parks it;
// an error (the pause cancelled) ends the turn.
func (e *escrowFlow) retryOrPark(ctx workflow.Context, p *escrow.Payout, err error) error {
	again, serr := e.retryStale(ctx, p, err)
	if serr == nil && !again {
		e.park(ctx, err)
	}
	return serr
}

// retryStale syncs again, quietly after a poll's pause, when the payout's stale streak
// allows it (payoutState.retryQuietly); otherwise the caller parks the payout.
func (e *escrowFlow) retryStale(ctx workflow.Context, p *escrow.Payout, err error) (again bool, sleepErr error) {
	if !e.payout.retryQuietly(err) {
		return false, nil
	}
	workflow.GetLogger(ctx).Warn("payout found stale multisig state; syncing again", "attempt", p.Attempts)
	return true, workflow.Sleep(ctx, e.timing.PayoutPoll)
}

// turnStep is what a payout turn does after followPayout.
type turnStep int

const (
	turnBuild    turnStep = iota // nothing out, nothing parked: build (or adopt) the payout
	turnEnds                     // return (a back-off not over, a history check, an error)
	turnDone                     // the payout is deep enough
	turnVanished                 // the submitted payout failed or left the pool: build again
)

// followPayout waits out a parked payout's back-off, then follows a submitted one's
// confirmations: what both payout turns do before building anything.
func (e *escrowFlow) followPayout(ctx workflow.Context, p *escrow.Payout) (turnStep, error) {
	if b := e.status.Blocked; b != nil {
		if err := e.awaitRetry(ctx, b); err != nil || e.status.Blocked != nil {
			return turnEnds, err // the back-off is not over: history check, then back here
		}
	}
	if !p.Submitted {
		return turnBuild, nil
	}
	deep, vanished, err := e.confirmPayout(ctx, p)
	switch {
	case err != nil:
		return turnEnds, err
	case deep:
		return turnDone, nil
	case vanished:
		return turnVanished, nil
	}
	return turnEnds, nil
}

// adoptSubmitted recognises a payout that was signed and may have been sent before the
// attempt stopped (a lost reply, a park at submit): if the wallet knows it, it is the
// payout, and building another would only be refused as a double spend.
func (e *escrowFlow) adoptSubmitted(ctx workflow.Context, p *escrow.Payout) bool {
	if len(p.TxHashes) == 0 {
		return false
	}
	var st activities.TxStatusResult
	err := workflow.ExecuteActivity(e.on(ctx, p.Signers[1], pollOptions()), wallet.PayoutStatus, e.txStatusInput(p)).Get(ctx, &st)
	if err == nil && st.Known && !st.Failed {
		p.Submitted, p.Confirmations = true, st.Confirmations
		e.publish(ctx)
		return true
	}
	p.TxHash, p.TxHashes = "", nil
	return false
}

// awaitSpendable polls the first signer's balance until everything confirmed can be spent
// (time-locked outputs aside, which no sweep can take), so the sweep takes it all and the
// co-signer checks against the total, not a moving number. Past Timing.UnlockWait it
// parks, and goes on waiting.
func (e *escrowFlow) awaitSpendable(ctx workflow.Context, p *escrow.Payout) error {
	start := workflow.Now(ctx)
	for {
		var funds activities.BalanceResult
		err := workflow.ExecuteActivity(e.on(ctx, p.Signers[0], pollOptions()), wallet.SpendableBalance, e.walletInput(p.Signers[0])).Get(ctx, &funds)
		if err == nil && funds.UnlockedAtomic > 0 && funds.UnlockedAtomic+funds.TimeLockedAtomic >= funds.TotalAtomic {
			return nil
		}
		if err == nil && workflow.Now(ctx).Sub(start) >= e.timing.UnlockWait {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("funds still locked after %s: %d of %d spendable",
				e.timing.UnlockWait, funds.UnlockedAtomic, funds.TotalAtomic), string(escrow.BlockLocked), nil)
		}
		if err := workflow.Sleep(ctx, e.timing.PayoutPoll); err != nil {
			return err
		}
		if e.historyFull(ctx) {
			return errNotYet
		}
	}
}

// tryPayout syncs the signers, builds, checks, signs and submits. parks selects the rules
// of changePayoutParks: sweep against the total, fee cap raisable, several transactions.
func (e *escrowFlow) tryPayout(ctx workflow.Context, p *escrow.Payout, parks bool) error {
	a, b := p.Signers[0], p.Signers[1]
	opts := payoutOptions(parks)
	if err := e.syncSigners(ctx, opts, a, b); err != nil {
		return err
	}
	// What the escrow holds now: the co-signer checks the payout against it.
	var funds activities.BalanceResult
	if err := workflow.ExecuteActivity(e.on(ctx, a, opts), wallet.SpendableBalance, e.walletInput(a)).Get(ctx, &funds); err != nil {
		return err
	}
	funded := funds.UnlockedAtomic
	if parks {
		funded = funds.TotalAtomic - min(funds.TimeLockedAtomic, funds.TotalAtomic)
		if funds.UnlockedAtomic < funded {
			funds.UnlockedAtomic = 0 // something arrived since the wait: sync again
		}
	}
	if funds.UnlockedAtomic == 0 || funds.ImportNeeded {
		return temporal.NewNonRetryableApplicationError("the signers' sync did not take", escrow.ErrTypeStale, nil)
	}
	var created activities.CreatePayoutResult
	if err := workflow.ExecuteActivity(e.on(ctx, a, opts), wallet.CreatePayout,
		activities.PayoutInput{EscrowID: e.in.EscrowID, Role: a, Address: p.Address}).Get(ctx, &created); err != nil {
		return err
	}
	feeCap := min(maxFeeAtomic, funded/2)
	if parks {
		feeCap = min(feeCapFor(p, funded), funded/2)
	}
	var signed activities.SignPayoutResult
	if err := workflow.ExecuteActivity(e.on(ctx, b, opts), wallet.SignPayout, activities.SignPayoutInput{
		EscrowID: e.in.EscrowID, Role: b, Txset: created.Txset, Address: p.Address,
		FundedAtomic: funded, MaxFeeAtomic: feeCap,
	}).Get(ctx, &signed); err != nil {
		return err
	}
	// Record the hashes before submitting: after a crash the submit recognises them.
	p.TxHash, p.AmountAtomic, p.FeeAtomic = signed.TxHash, signed.AmountAtomic, signed.FeeAtomic
	if parks {
		p.TxHashes, p.FundedAtomic = signed.TxHashes, funded
		if len(p.TxHashes) == 0 {
			p.TxHashes = []string{signed.TxHash}
		}
	}
	e.publish(ctx)
	var sent activities.TxStatusResult
	if err := workflow.ExecuteActivity(e.on(ctx, b, opts), wallet.SubmitPayout, activities.SubmitInput{
		EscrowID: e.in.EscrowID, Role: b, SignedTx: signed.SignedTx, TxHash: signed.TxHash, TxHashes: p.TxHashes,
	}).Get(ctx, &sent); err != nil {
		return err
	}
	p.Submitted = true
	workflow.GetLogger(ctx).Info("payout submitted", "tx_hashes", p.TxHashes, "tx_hash", p.TxHash, "amount", p.AmountAtomic, "fee", p.FeeAtomic)
	e.publish(ctx)
	return nil
}

// syncSigners has both signers export their multisig info and import the other's: each
// learns the other's partial key images and fresh nonces, which a build and a signature need.
func (e *escrowFlow) syncSigners(ctx workflow.Context, opts workflow.ActivityOptions, a, b escrow.Role) error {
	intoA, intoB, err := e.startSync(ctx, opts, a, b)
	if err != nil {
		return err
	}
	return after(ctx, intoB, intoA.Get(ctx, nil))
}

// startSync has both signers export their multisig info and starts each one's import of the
// other's (a's, then b's), returning the running imports.
func (e *escrowFlow) startSync(ctx workflow.Context, opts workflow.ActivityOptions, a, b escrow.Role) (intoA, intoB workflow.Future, err error) {
	exports, err := both(ctx, e, opts, []escrow.Role{a, b}, wallet.ExportMultisigInfo, e.walletInput)
	if err != nil {
		return nil, nil, err
	}
	importInto := func(r escrow.Role, info string) workflow.Future {
		return workflow.ExecuteActivity(e.on(ctx, r, opts), wallet.ImportMultisigInfo,
			activities.ImportInput{EscrowID: e.in.EscrowID, Role: r, Infos: []string{info}})
	}
	return importInto(a, exports[1].Info), importInto(b, exports[0].Info), nil
}

// confirmPayout polls the submitting signer's wallet on a durable timer until the payout
// is deep enough. It returns early when the history is long, so the lifecycle can continue
// as new, or when the payout vanished from the chain and the pool.
func (e *escrowFlow) confirmPayout(ctx workflow.Context, p *escrow.Payout) (deep, vanished bool, err error) {
	if p.Confirmations < e.timing.PayoutConfirmations {
		e.followWithWatcher(ctx, p)
	}
	for p.Confirmations < e.timing.PayoutConfirmations {
		st := activities.TxStatusResult{Confirmations: p.Confirmations}
		if err := workflow.ExecuteActivity(e.on(ctx, p.Signers[1], pollOptions()), wallet.PayoutStatus, e.txStatusInput(p)).Get(ctx, &st); err != nil {
			workflow.GetLogger(ctx).Warn("payout status check failed; checking again later", "error", err)
			st.Confirmations = p.Confirmations
		}
		if st.Failed {
			return false, true, nil
		}
		if st.Confirmations != p.Confirmations {
			p.Confirmations = st.Confirmations
			e.publish(ctx)
		}
		if p.Confirmations >= e.timing.PayoutConfirmations || e.historyFull(ctx) {
			break
		}
		if err := e.awaitPayoutNews(ctx, p); err != nil {
			return false, false, err
		}
	}
	return p.Confirmations >= e.timing.PayoutConfirmations, false, nil
}

func (e *escrowFlow) txStatusInput(p *escrow.Payout) activities.TxStatusInput {
	return activities.TxStatusInput{EscrowID: e.in.EscrowID, Role: p.Signers[1], TxHash: p.TxHash, TxHashes: p.TxHashes}
}

// payoutOptions add the payout's own non-retryable errors to the wallet step options. A
// wallet step reads escrow.ErrTypeStale among them as "the payout waits on me" and keeps its
// last attempts from standing back for setups (activities' payoutScheduled). With
// parks, a step that keeps failing (a daemon outage at submit) gives up after a few minutes
// and the payout parks, visibly, instead of retrying out of sight.
func payoutOptions(parks bool) workflow.ActivityOptions {
	o := walletOptions(stepTimeout)
	o.RetryPolicy.NonRetryableErrorTypes = append(o.RetryPolicy.NonRetryableErrorTypes,
		escrow.ErrTypeStale, escrow.ErrTypePayoutRejected)
	if parks {
		o.ScheduleToCloseTimeout = 5 * stepTimeout
		o.RetryPolicy.MaximumAttempts = 6
	}
	return o
}

func isType(err error, typ string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == typ
}
