package starter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// The server enforces one run per escrow; these options are what ask it to.
func TestStartOptionsRejectDuplicates(t *testing.T) {
	o := StartOptions("o-1")
	assert.Equal(t, escrow.WorkflowID("o-1"), o.ID)
	assert.Equal(t, escrow.EscrowTaskQueue, o.TaskQueue)
	assert.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, o.WorkflowIDReusePolicy)
	assert.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL, o.WorkflowIDConflictPolicy)
	assert.True(t, o.WorkflowExecutionErrorWhenAlreadyStarted)
	assert.Equal(t, 2, o.TypedSearchAttributes.Size())
}

// Only the agreed terms decide whether a repeated start is the same escrow; each differing
// one is named, and "" is the mainnet it defaults to.
func TestDifferingTermsNamesEachChangedTerm(t *testing.T) {
	base := escrow.EscrowInput{
		EscrowID: "o-1",
		Order: escrow.Order{
			OrderID: "order", BuyerID: "b", VendorID: "v", ArbiterID: "a", AmountAtomic: 5,
			VendorPayoutAddress: "vaddr", BuyerRefundAddress: "baddr",
		},
	}
	delay := time.Second
	tuned := base
	tuned.PurgeDelay, tuned.Timing.AutoRelease, tuned.Network = &delay, time.Hour, "mainnet"
	tuned.Resume = &escrow.Checkpoint{Version: 3}
	assert.Empty(t, differingTerms(base, tuned), "tuning, resume state and the default network are not terms")

	for name, change := range map[string]func(*escrow.EscrowInput){
		"order_id":              func(in *escrow.EscrowInput) { in.OrderID = "other" },
		"buyer_id":              func(in *escrow.EscrowInput) { in.BuyerID = "other" },
		"vendor_id":             func(in *escrow.EscrowInput) { in.VendorID = "other" },
		"arbiter_id":            func(in *escrow.EscrowInput) { in.ArbiterID = "other" },
		"amount_atomic":         func(in *escrow.EscrowInput) { in.AmountAtomic = 6 },
		"vendor_payout_address": func(in *escrow.EscrowInput) { in.VendorPayoutAddress = "other" },
		"buyer_refund_address":  func(in *escrow.EscrowInput) { in.BuyerRefundAddress = "other" },
		"network":               func(in *escrow.EscrowInput) { in.Network = "stagenet" },
		"commission":            func(in *escrow.EscrowInput) { in.Commission = &escrow.Commission{BasisPoints: 100, Address: "m"} },
	} {
		in := base
		change(&in)
		assert.Equal(t, []string{name}, differingTerms(base, in), name)
	}
	both := base
	both.AmountAtomic, both.VendorID = 7, "mallory"
	assert.Equal(t, []string{"vendor_id", "amount_atomic"}, differingTerms(base, both))
	withCut := base
	withCut.Commission = &escrow.Commission{BasisPoints: 100, Address: "m"}
	sameCut := withCut
	sameCut.Commission = &escrow.Commission{BasisPoints: 100, Address: "m"}
	assert.Empty(t, differingTerms(withCut, sameCut), "commissions compare by value")
}
