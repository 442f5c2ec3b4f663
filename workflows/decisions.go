package workflows

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/moneroaddr"
)

// Caps on a decision's free text: a dispute reason must say something and not be an
// essay; an actor ID is a party's user ID (at most 200 characters, as at the start); a
// payout address is a standard or integrated address at most.
const (
	minReason  = 10
	maxReason  = 1000
	maxActorID = 200
	maxAddress = 106
)

// decision is one update: who may take it, in which statuses, and what it does.
type decision struct {
	name     escrow.UpdateName
	roles    []escrow.Role
	statuses []escrow.Status
	check    func(e *escrowFlow, in escrow.DecisionInput) error
	apply    func(e *escrowFlow, ctx workflow.Context, d decision, in escrow.DecisionInput) error
}

var decisions = []decision{
	{
		name: escrow.UpdateMarkShipped, roles: []escrow.Role{escrow.Vendor}, statuses: []escrow.Status{escrow.StatusFunded},
		check: func(e *escrowFlow, in escrow.DecisionInput) error {
			if in.PayoutAddress == "" {
				return nil
			}
			return moneroaddr.Valid(in.PayoutAddress, e.in.AddressNetwork())
		},
		apply: (*escrowFlow).markShipped,
	},
	{
		name: escrow.UpdateConfirmReceipt, roles: []escrow.Role{escrow.Buyer}, statuses: []escrow.Status{escrow.StatusFunded, escrow.StatusShipped},
		apply: func(e *escrowFlow, ctx workflow.Context, _ decision, _ escrow.DecisionInput) error {
			e.decidePayout(ctx, escrow.PayoutRelease, escrow.Buyer)
			return nil
		},
	},
	{
		name: escrow.UpdateAgreeRefund, roles: []escrow.Role{escrow.Vendor}, statuses: []escrow.Status{escrow.StatusFunded, escrow.StatusShipped, escrow.StatusDisputed},
		apply: func(e *escrowFlow, ctx workflow.Context, _ decision, _ escrow.DecisionInput) error {
			e.decidePayout(ctx, escrow.PayoutRefund, escrow.Vendor)
			return nil
		},
	},
	{
		name: escrow.UpdateOpenDispute, roles: []escrow.Role{escrow.Buyer, escrow.Vendor}, statuses: []escrow.Status{escrow.StatusFunded, escrow.StatusShipped},
		check: func(_ *escrowFlow, in escrow.DecisionInput) error {
			if n := utf8.RuneCountInString(strings.TrimSpace(in.Reason)); n < minReason || n > maxReason {
				return fmt.Errorf("a dispute needs a reason of %d-%d characters, got %d", minReason, maxReason, n)
			}
			return nil
		},
		apply: func(e *escrowFlow, ctx workflow.Context, _ decision, in escrow.DecisionInput) error {
			now := workflow.Now(ctx)
			e.status.DisputedAt, e.status.EscalateAt = now, now.Add(e.timing.DisputeEscalation)
			e.status.DisputeReason = strings.TrimSpace(in.Reason)
			e.setStatus(ctx, escrow.StatusDisputed)
			return nil
		},
	},
	{
		name: escrow.UpdateResolveDispute, roles: []escrow.Role{escrow.Arbiter}, statuses: []escrow.Status{escrow.StatusDisputed},
		check: func(e *escrowFlow, in escrow.DecisionInput) error {
			switch {
			case in.Winner == "" && in.VendorAtomic > 0:
				return e.checkSplit(in)
			case in.VendorAtomic > 0:
				return fmt.Errorf("a dispute resolves to a winner or to a split (vendor_atomic), not both")
			case in.Winner != escrow.Buyer && in.Winner != escrow.Vendor:
				return fmt.Errorf("a dispute resolves to the buyer, the vendor, or a split (vendor_atomic), not %q", in.Winner)
			}
			return nil
		},
		apply: func(e *escrowFlow, ctx workflow.Context, _ decision, in escrow.DecisionInput) error {
			kind := escrow.PayoutRelease
			switch {
			case in.Winner == "":
				e.decideSplit(ctx, in.VendorAtomic, escrow.Arbiter, escrow.Buyer)
				return nil
			case in.Winner == escrow.Buyer:
				kind = escrow.PayoutRefund
			}
			e.decidePayout(ctx, kind, escrow.Arbiter)
			return nil
		},
	},
	{
		name: escrow.UpdateAgreeSplit, roles: []escrow.Role{escrow.Buyer, escrow.Vendor},
		statuses: []escrow.Status{escrow.StatusFunded, escrow.StatusShipped, escrow.StatusDisputed},
		check:    (*escrowFlow).checkSplit,
		apply:    (*escrowFlow).agreeSplit,
	},
	{
		name: escrow.UpdateCancel, roles: escrow.Roles, statuses: []escrow.Status{escrow.StatusSettingUp, escrow.StatusAwaitingFunding},
		apply: func(e *escrowFlow, ctx workflow.Context, _ decision, _ escrow.DecisionInput) error {
			if e.status.Status != escrow.StatusAwaitingFunding {
				return nil // during the setup, startFunding sees the recorded cancel
			}
			if version(ctx, changeFreshDecisions, workflow.DefaultVersion, 1) < 1 {
				e.cancel(ctx)
				return nil
			}
			// The last check may be minutes old: the funding loop takes a fresh one, then
			// cancels or refunds; the update returns with that outcome.
			e.funding.cancelPending = true
			return workflow.Await(ctx, func() bool { return !e.funding.cancelPending })
		},
	},
}

// registerDecisions installs every decision as an update with a validator. A validator
// refuses before anything is written to history; the handler then records the decision
// and changes the status, which the lifecycle loop acts on.
func (e *escrowFlow) registerDecisions(ctx workflow.Context) error {
	for _, d := range decisions {
		err := workflow.SetUpdateHandlerWithOptions(ctx, string(d.name),
			func(ctx workflow.Context, in escrow.DecisionInput) (escrow.State, error) {
				// A handler that waited (on an activity) re-checks: the state may have moved.
				if err := e.validate(d, in); err != nil {
					return e.status, err
				}
				if d.name != escrow.UpdateMarkShipped {
					e.record(ctx, escrow.Decision{Update: d.name, Role: in.Role, ActorID: in.ActorID, Detail: detail(in)})
				}
				if err := d.apply(e, ctx, d, in); err != nil {
					return e.status, err
				}
				return e.status, nil
			},
			workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, in escrow.DecisionInput) error {
				return e.validate(d, in)
			}},
		)
		if err != nil {
			return fmt.Errorf("register update %s: %w", d.name, err)
		}
	}
	return nil
}

// validate is read-only and deterministic, as a validator must be.
func (e *escrowFlow) validate(d decision, in escrow.DecisionInput) error {
	reject := func(format string, args ...any) error {
		return temporal.NewApplicationError(fmt.Sprintf("%s refused: ", d.name)+fmt.Sprintf(format, args...), escrow.ErrTypeDecisionRejected)
	}
	if !slices.Contains(d.roles, in.Role) {
		return reject("only %v may do this, not %q", d.roles, in.Role)
	}
	if len(in.ActorID) > maxActorID || len(in.PayoutAddress) > maxAddress {
		return reject("actor_id is capped at %d bytes and payout_address at %d", maxActorID, maxAddress)
	}
	if want := e.partyID(in.Role); in.ActorID == "" || in.ActorID != want {
		return reject("user %q is not this escrow's %s", in.ActorID, in.Role)
	}
	if e.status.Status.Decided() {
		return reject("the escrow is already %s; no decision can follow", e.status.Status)
	}
	if e.status.Phase == escrow.PhaseFailed {
		return reject("the escrow's setup failed")
	}
	if !slices.Contains(d.statuses, e.status.Status) {
		return reject("not while the escrow is %s (allowed: %v)", e.status.Status, d.statuses)
	}
	if d.name == escrow.UpdateCancel && e.cancelRequested() {
		return reject("a cancel is already recorded")
	}
	if d.check != nil {
		if err := d.check(e, in); err != nil {
			return reject("%v", err)
		}
	}
	return nil
}

// markShipped asks the vendor's wallet-rpc to confirm a new payout address before taking it.
func (e *escrowFlow) markShipped(ctx workflow.Context, d decision, in escrow.DecisionInput) error {
	if in.PayoutAddress != "" && in.PayoutAddress != e.status.VendorPayoutAddress {
		var res activities.AddressResult
		req := activities.AddressInput{EscrowID: e.in.EscrowID, Role: escrow.Vendor, Address: in.PayoutAddress}
		if err := workflow.ExecuteActivity(e.on(ctx, escrow.Vendor, walletOptions(stepTimeout)), wallet.ValidateAddress, req).Get(ctx, &res); err != nil {
			return err
		}
		if !res.Valid {
			return temporal.NewApplicationError("mark-shipped refused: the wallet-rpc says the payout address is not valid", escrow.ErrTypeDecisionRejected)
		}
		if err := e.validate(d, in); err != nil {
			return err
		}
		e.status.VendorPayoutAddress = in.PayoutAddress
	}
	e.record(ctx, escrow.Decision{Update: escrow.UpdateMarkShipped, Role: in.Role, ActorID: in.ActorID})
	now := workflow.Now(ctx)
	e.status.ShippedAt, e.status.AutoReleaseAt = now, now.Add(e.timing.AutoRelease)
	e.setStatus(ctx, escrow.StatusShipped)
	return nil
}

// decidePayout fixes where the money goes and who signs: first builds the transaction,
// the payee's side (or the other party) signs and submits it. Under ExactShares the vendor's
// part of a release is the price; whatever else the escrow can spend goes back to the buyer.
func (e *escrowFlow) decidePayout(ctx workflow.Context, kind escrow.PayoutKind, first escrow.Role) {
	p := &escrow.Payout{Kind: kind, Payee: escrow.Vendor, Address: e.status.VendorPayoutAddress}
	st := escrow.StatusReleasing
	if kind == escrow.PayoutRefund {
		p.Payee, p.Address, st = escrow.Buyer, e.status.BuyerRefundAddress, escrow.StatusRefunding
	}
	second := p.Payee
	if second == first {
		second = escrow.Vendor
		if p.Payee == escrow.Vendor {
			second = escrow.Buyer
		}
	}
	p.Signers = []escrow.Role{first, second}
	if version(ctx, changeExactShares, workflow.DefaultVersion, 1) >= 1 {
		vendor := uint64(0)
		if kind == escrow.PayoutRelease {
			vendor = uint64(e.in.AmountAtomic)
		}
		p.Rules, p.Division = escrow.ExactShares, e.division(vendor)
	}
	e.status.Payout, e.status.SplitOffer = p, nil
	e.setStatus(ctx, st)
}

// division is the decided terms of a payout that gives the vendor vendorAtomic.
func (e *escrowFlow) division(vendorAtomic uint64) *escrow.Division {
	return &escrow.Division{VendorAtomic: vendorAtomic, Commission: e.in.Commission,
		VendorAddress: e.status.VendorPayoutAddress, BuyerAddress: e.status.BuyerRefundAddress}
}

func (e *escrowFlow) record(ctx workflow.Context, d escrow.Decision) {
	d.At = workflow.Now(ctx)
	e.status.Decisions = append(e.status.Decisions, d)
}

func (e *escrowFlow) cancelRequested() bool {
	for _, d := range e.status.Decisions {
		if d.Update == escrow.UpdateCancel {
			return true
		}
	}
	return false
}

func (e *escrowFlow) partyID(r escrow.Role) string {
	switch r {
	case escrow.Buyer:
		return e.in.BuyerID
	case escrow.Vendor:
		return e.in.VendorID
	case escrow.Arbiter:
		return e.in.ArbiterID
	}
	return ""
}

func detail(in escrow.DecisionInput) string {
	switch {
	case in.Winner != "":
		return "winner: " + string(in.Winner)
	case in.VendorAtomic > 0:
		return fmt.Sprintf("split: %d to the vendor, the rest to the buyer", in.VendorAtomic)
	}
	return strings.TrimSpace(in.Reason)
}
