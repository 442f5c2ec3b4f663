package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// A split gives the vendor an agreed part of the price (commission included) and the rest
// of the escrow back to the buyer, in one payout: the arbiter can resolve a dispute with one,
// and the buyer and the vendor can agree on one (agree-split from each, the same amount).

// checkSplit refuses a split that is not a part of the price, or that leaves the vendor too
// little to pay the network fee, which the vendor's part pays (escrow.Division).
func (e *escrowFlow) checkSplit(in escrow.DecisionInput) error {
	price := uint64(e.in.AmountAtomic)
	switch v := in.VendorAtomic; {
	case v == 0 || v > price:
		return fmt.Errorf("a split gives the vendor 1 to %d piconero (the price), not %d", price, v)
	case v-e.in.Commission.Of(v) < escrow.MinVendorSplitAtomic:
		return fmt.Errorf("a split must leave the vendor at least %d piconero after the commission, to pay the network fee; refund the buyer instead",
			escrow.MinVendorSplitAtomic)
	}
	return nil
}

// agreeSplit records one party's offer; the other party's agree-split with the same amount
// decides the split. A different amount is a counter-offer and replaces the offer.
func (e *escrowFlow) agreeSplit(ctx workflow.Context, _ decision, in escrow.DecisionInput) error {
	if o := e.status.SplitOffer; o != nil && o.Role != in.Role && o.VendorAtomic == in.VendorAtomic {
		e.decideSplit(ctx, in.VendorAtomic, in.Role, o.Role)
		return nil
	}
	e.status.SplitOffer = &escrow.SplitOffer{Role: in.Role, ActorID: in.ActorID, VendorAtomic: in.VendorAtomic, At: workflow.Now(ctx)}
	workflow.GetLogger(ctx).Info("split offered; waiting for the other party", "by", string(in.Role), "vendor_atomic", in.VendorAtomic)
	e.publish(ctx)
	return nil
}

// decideSplit fixes a split payout: first builds it, second checks its shares and signs.
func (e *escrowFlow) decideSplit(ctx workflow.Context, vendorAtomic uint64, first, second escrow.Role) {
	// A split exists only in code that has the exact-shares rules; the marker is recorded
	// all the same, so a history reads the same whichever decision came first.
	version(ctx, changeExactShares, workflow.DefaultVersion, 1)
	e.status.Payout = &escrow.Payout{Kind: escrow.PayoutSplit, Payee: escrow.Vendor, Address: e.status.VendorPayoutAddress,
		Signers: []escrow.Role{first, second}, Rules: escrow.ExactShares, Division: e.division(vendorAtomic)}
	e.status.SplitOffer = nil
	e.setStatus(ctx, escrow.StatusReleasing)
}
