package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// changeExactShares versions the payout rules of escrow.ExactShares, taken when a payout is
// decided and kept in Payout.Rules, so everything after keys off the payout itself: each
// party gets exactly its share (escrow.Division), dust is left out, money still arriving
// joins the payout for SettleWait at most, every signed set is kept until one is deep, the
// escrow's holdings are checked before paying, and a parked payout backs off for real.
const changeExactShares = "exact-shares"

// changeLeanPayout: an exact payout syncs the signers first and reads the first signer's
// holdings once, as the sync left them (no second refresh). The look before the sync (settle)
// runs only when that holdings check finds money still confirming or unlocking, and the sync
// is then made again. Measured on 0.18.5.3 (docs/benchmark.md): the look before the sync cost
// a refresh, get_balance, get_height, get_transfers and incoming_transfers, about 0.2 s of a
// 1.7 s decision to submitted, for a wait that almost never waits: a funded escrow's money
// has unlocked.
const changeLeanPayout = "lean-payout"

// errNothingToPay ends a payout that finds the escrow empty and none of its signed sets on
// the chain: the money it was to pay never arrived, or is dust.
var errNothingToPay = errors.New("the escrow holds nothing a payout can spend, and no payout of it is known")

// exactTurn drives a payout decided under ExactShares until it is deep enough (done),
// parking on anything that stops it. Nothing here fails the workflow. A payout that finds
// nothing to pay returns done with p.Submitted false.
func (e *escrowFlow) exactTurn(ctx workflow.Context, p *escrow.Payout) (done bool, err error) {
	waitingSince := workflow.Now(ctx)
	for !e.historyFull(ctx) {
		switch step, err := e.followPayout(ctx, p); step {
		case turnEnds:
			return false, err
		case turnDone:
			return true, nil
		case turnVanished:
			workflow.GetLogger(ctx).Warn("payout vanished (failed, double spent or dropped); building it again, its hashes kept", "tx_hashes", p.TxHashes)
			e.setAside(p)
			p.Rebuilds++
			e.publish(ctx)
			continue
		}
		if e.adoptSigned(ctx, p) {
			continue
		}
		err := e.exactAttempt(ctx, p, waitingSince)
		switch {
		case err == nil:
			e.payout.stale = 0 // the streak is over
			continue
		case errors.Is(err, errNotYet):
			return false, nil
		case errors.Is(err, errNothingToPay):
			return true, nil
		}
		if err := e.retryOrPark(ctx, p, err); err != nil {
			return false, err
		}
	}
	return false, nil
}

// setAside moves the current signed set to Earlier: it is never forgotten.
func (e *escrowFlow) setAside(p *escrow.Payout) {
	if len(p.TxHashes) > 0 {
		p.Earlier = append(p.Earlier, p.TxHashes)
	}
	p.Submitted, p.TxHash, p.TxHashes, p.Confirmations = false, "", nil, 0
}

// adoptSigned asks the submitting wallet about every set this payout signed, newest first:
// one it knows and that has not failed was sent after all, and it is the payout. A set whose
// fate is unknown stays recorded; it is asked about again before anything is concluded.
func (e *escrowFlow) adoptSigned(ctx workflow.Context, p *escrow.Payout) bool {
	sets := append([][]string{}, p.Earlier...)
	if len(p.TxHashes) > 0 {
		sets = append(sets, p.TxHashes)
	}
	for i := len(sets) - 1; i >= 0; i-- {
		var st activities.TxStatusResult
		in := activities.TxStatusInput{EscrowID: e.in.EscrowID, Role: p.Signers[1], TxHash: sets[i][0], TxHashes: sets[i]}
		err := workflow.ExecuteActivity(e.on(ctx, p.Signers[1], pollOptions()), wallet.PayoutStatus, in).Get(ctx, &st)
		if err != nil {
			workflow.GetLogger(ctx).Warn("could not ask about a signed payout; it stays recorded", "tx_hashes", sets[i], "error", err)
			continue
		}
		if st.Known && !st.Failed {
			if i < len(sets)-1 || len(p.TxHashes) == 0 {
				e.setAside(p)
				p.Earlier = append(p.Earlier[:i:i], p.Earlier[i+1:]...)
				p.TxHash, p.TxHashes = sets[i][0], sets[i]
			}
			p.Submitted, p.Confirmations = true, st.Confirmations
			workflow.GetLogger(ctx).Info("a signed payout is on its way; adopting it", "tx_hashes", p.TxHashes, "confirmations", st.Confirmations)
			e.publish(ctx)
			return true
		}
	}
	e.setAside(p) // the current set is not out: kept in Earlier, a new one will be built
	return false
}

// nothingOwed reports whether an empty escrow means p has nothing to pay: a late refund (the
// late money was dust, or went away), or the refund of a payment that never confirmed (it was
// dropped from the pool, or reorged away, before funding). A funded escrow that is empty has
// lost money or paid it out unseen: that is never concluded, it parks.
func (e *escrowFlow) nothingOwed(p *escrow.Payout) bool {
	return p == e.status.LateRefund || (p.Kind == escrow.PayoutRefund && e.status.Funding.FundedAt.IsZero())
}

// need is the least the escrow must hold to pay p: the vendor's part, or anything at all.
func need(p *escrow.Payout) uint64 {
	return max(p.Division.VendorAtomic, 1)
}

// exactAttempt waits (bounded) for money still arriving, syncs the signers, looks at what
// the escrow holds, and builds, checks, signs and submits the division of what it can spend.
func (e *escrowFlow) exactAttempt(ctx workflow.Context, p *escrow.Payout, since time.Time) error {
	a, b := p.Signers[0], p.Signers[1]
	lean := version(ctx, changeLeanPayout, workflow.DefaultVersion, 1) >= 1
	if !lean {
		if err := e.settle(ctx, p, since); err != nil {
			return err
		}
	}
	opts := payoutOptions(true)
	h, intoB, err := e.syncedHoldings(ctx, opts, a, b, lean)
	if err == nil && lean && h.LockedAtomic+h.PendingAtomic > 0 {
		// Money still on its way: wait for it as before, then sync again so it is divided too.
		if err := after(ctx, intoB, nil); err != nil {
			return err
		}
		if err := e.settle(ctx, p, since); err != nil {
			return err
		}
		h, intoB, err = e.syncedHoldings(ctx, opts, a, b, lean)
	}
	if err != nil {
		return err
	}
	// Until b signs, every way out waits for b's import (after): the next attempt's sync must
	// not find an older one still queued on b.
	return e.buildAndSubmit(ctx, p, h, intoB, since)
}

// buildAndSubmit divides what the synced look h found, builds on the first signer, has the
// second check, sign and submit it. intoB is the second signer's import, still running in a
// lean payout (nil once done): it is awaited before the signature.
func (e *escrowFlow) buildAndSubmit(ctx workflow.Context, p *escrow.Payout, h activities.BalanceResult, intoB workflow.Future, since time.Time) error {
	a, b := p.Signers[0], p.Signers[1]
	opts := payoutOptions(true)
	if h.Dust == nil {
		return after(ctx, intoB, temporal.NewNonRetryableApplicationError("the holdings check measured no dust threshold", escrow.ErrTypeProtocol, nil))
	}
	p.Dust, e.status.Dust = nil, nil
	if h.Dust.Outputs > 0 {
		p.Dust, e.status.Dust = h.Dust, h.Dust
	}
	if h.SpendableAtomic < need(p) {
		if err := after(ctx, intoB, nil); err != nil {
			return err
		}
		return e.shortOfMoney(ctx, p, h.Holdings, since)
	}
	p.Attempts++
	dests, from, err := p.Division.Destinations(h.SpendableAtomic)
	if err != nil {
		return after(ctx, intoB, temporal.NewNonRetryableApplicationError(err.Error(), string(escrow.BlockFundsMissing), err))
	}
	var created activities.CreatePayoutResult
	if err := workflow.ExecuteActivity(e.on(ctx, a, opts), wallet.CreatePayout, activities.PayoutInput{
		EscrowID: e.in.EscrowID, Role: a, Address: p.Address, Destinations: dests, FeeFrom: from,
		SpendableAtomic: h.SpendableAtomic, DustBelowAtomic: h.Dust.BelowAtomic,
	}).Get(ctx, &created); err != nil {
		return after(ctx, intoB, err)
	}
	if err := after(ctx, intoB, nil); err != nil {
		return err
	}
	var signed activities.SignPayoutResult
	if err := workflow.ExecuteActivity(e.on(ctx, b, opts), wallet.SignPayout, activities.SignPayoutInput{
		EscrowID: e.in.EscrowID, Role: b, Txset: created.Txset, Address: p.Address, Division: p.Division,
		FundedAtomic: h.SpendableAtomic, MaxFeeAtomic: min(feeCapFor(p, h.SpendableAtomic), h.SpendableAtomic/2),
	}).Get(ctx, &signed); err != nil {
		return err
	}
	// Recorded before the submit: after a crash the set is recognised, never built twice.
	p.TxHash, p.TxHashes = signed.TxHash, signed.TxHashes
	if len(p.TxHashes) == 0 {
		p.TxHashes = []string{signed.TxHash}
	}
	p.AmountAtomic, p.FeeAtomic, p.FundedAtomic, p.Shares = signed.AmountAtomic, signed.FeeAtomic, h.SpendableAtomic, signed.Shares
	e.publish(ctx)
	var sent activities.TxStatusResult
	if err := workflow.ExecuteActivity(e.on(ctx, b, opts), wallet.SubmitPayout, activities.SubmitInput{
		EscrowID: e.in.EscrowID, Role: b, SignedTx: signed.SignedTx, TxHash: signed.TxHash, TxHashes: p.TxHashes,
	}).Get(ctx, &sent); err != nil {
		return err
	}
	p.Submitted = true
	workflow.GetLogger(ctx).Info("payout submitted", "tx_hashes", p.TxHashes, "shares", p.Shares, "fee", p.FeeAtomic)
	e.publish(ctx)
	return nil
}

// syncedHoldings syncs the signers and reads what the first one, a, holds: after the sync its
// view is exact, and what it can spend is what is divided. lean reads it without a refresh
// (a's export has just refreshed it, and a block seen only now would make the view disagree
// with what the signers exchanged), and leaves b's import running: b needs it only to sign,
// and a's look and build run meanwhile on a's instance. The running import is returned (nil
// when there is none); after waits for it.
func (e *escrowFlow) syncedHoldings(ctx workflow.Context, opts workflow.ActivityOptions, a, b escrow.Role, lean bool) (activities.BalanceResult, workflow.Future, error) {
	var h activities.BalanceResult
	if !lean {
		if err := e.syncSigners(ctx, opts, a, b); err != nil {
			return h, nil, err
		}
		err := workflow.ExecuteActivity(e.on(ctx, a, opts), wallet.SpendableBalance, e.walletInput(a)).Get(ctx, &h)
		return h, nil, err
	}
	intoA, intoB, err := e.startSync(ctx, opts, a, b)
	if err != nil {
		return h, nil, err
	}
	err = intoA.Get(ctx, nil)
	if err == nil {
		in := e.walletInput(a)
		in.Synced = true
		err = workflow.ExecuteActivity(e.on(ctx, a, opts), wallet.SpendableBalance, in).Get(ctx, &h)
	}
	if err != nil {
		return h, nil, after(ctx, intoB, err)
	}
	return h, intoB, nil
}

// after waits for a step left running (f; nil: none) before the payout goes on or ends with
// err, which it returns, or else the step's error.
func after(ctx workflow.Context, f workflow.Future, err error) error {
	if f == nil {
		return err
	}
	if ferr := f.Get(ctx, nil); err == nil {
		err = ferr
	}
	return err
}

// settle waits, before a sync, for money still confirming or unlocking to join the payout:
// at most Timing.SettleWait once the escrow can pay what was decided, so payments every few
// blocks cannot hold the payout up; until Timing.UnlockWait (then parked, and waiting on)
// while it cannot. The first signer's view before a sync may count outputs already spent;
// the look after the sync decides.
func (e *escrowFlow) settle(ctx workflow.Context, p *escrow.Payout, since time.Time) error {
	for {
		var h activities.BalanceResult
		err := workflow.ExecuteActivity(e.on(ctx, p.Signers[0], pollOptions()), wallet.SpendableBalance, e.walletInput(p.Signers[0])).Get(ctx, &h)
		waited := workflow.Now(ctx).Sub(since)
		switch {
		case err != nil && waited >= e.timing.UnlockWait:
			return err // parked as unreachable, and tried again after its back-off
		case err != nil:
			workflow.GetLogger(ctx).Warn("holdings check failed; checking again", "error", err)
		case h.LockedAtomic+h.PendingAtomic == 0, waited >= e.timing.SettleWait && h.SpendableAtomic+h.UnsyncedAtomic >= need(p):
			return nil
		case waited >= e.timing.UnlockWait:
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("funds still locked after %s: %d spendable of the %d the decision needs, %d on its way",
				e.timing.UnlockWait, h.SpendableAtomic+h.UnsyncedAtomic, need(p), h.LockedAtomic+h.PendingAtomic), string(escrow.BlockLocked), nil)
		}
		if err := workflow.Sleep(ctx, e.timing.PayoutPoll); err != nil {
			return err
		}
		if e.historyFull(ctx) {
			return errNotYet
		}
	}
}

// shortOfMoney decides what a synced look that cannot pay the decision means: money on its
// way is waited for; a signed set found on the chain is adopted (the next turn sees it); an
// empty escrow has nothing to pay; anything else is money missing, parked until it is back.
func (e *escrowFlow) shortOfMoney(ctx workflow.Context, p *escrow.Payout, h activities.Holdings, since time.Time) error {
	if coming := h.Coming(); h.SpendableAtomic+coming >= need(p) {
		if workflow.Now(ctx).Sub(since) >= e.timing.UnlockWait {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("funds still locked after %s: %d spendable, %d on its way",
				e.timing.UnlockWait, h.SpendableAtomic, coming), string(escrow.BlockLocked), nil)
		}
		return workflow.Sleep(ctx, e.timing.PayoutPoll)
	}
	if len(p.Earlier) > 0 {
		workflow.GetLogger(ctx).Warn("the escrow holds less than the decision pays; a payout signed earlier may be on the chain", "sets", len(p.Earlier))
		if e.adoptSigned(ctx, p) {
			return nil
		}
	}
	if h.SpendableAtomic+h.Coming() == 0 && e.nothingOwed(p) {
		return errNothingToPay
	}
	msg := fmt.Sprintf("the escrow holds %d (%d spendable) but the decision pays %d: a reorg may have taken a payment; checking again before paying anything",
		h.SpendableAtomic+h.Coming(), h.SpendableAtomic, need(p))
	return temporal.NewNonRetryableApplicationError(msg, string(escrow.BlockFundsMissing), nil)
}
