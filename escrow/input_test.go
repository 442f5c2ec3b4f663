package escrow

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireRefusedStrictly checks that only the strict rules refuse in, naming both fields:
// the base rules must keep accepting it, or old histories would replay differently.
func requireRefusedStrictly(t *testing.T, in EscrowInput, fields ...string) {
	t.Helper()
	require.NoError(t, in.ValidateOriginal(), "the base rules are unchanged")
	err := in.Validate()
	require.ErrorIs(t, err, ErrInvalidInput)
	assert.ErrorIs(t, in.validateStrict(), ErrInvalidInput)
	for _, f := range fields {
		assert.Contains(t, err.Error(), f)
	}
}

// A vendor who is also the arbiter holds two of three keys and can release to themself
// without the buyer.
func TestAVendorCannotAlsoBeTheArbiter(t *testing.T) {
	in := input("v-arb", EscrowInput{})
	in.ArbiterID = in.VendorID
	requireRefusedStrictly(t, in, "vendor_id", "arbiter_id")
}

// A buyer who is also the vendor controls two keys and could drain a dispute either way.
func TestABuyerCannotAlsoBeTheVendor(t *testing.T) {
	in := input("b-ven", EscrowInput{})
	in.VendorID = in.BuyerID
	requireRefusedStrictly(t, in, "buyer_id", "vendor_id")
}

// A buyer who is also the arbiter can refund themself after the goods shipped.
func TestABuyerCannotAlsoBeTheArbiter(t *testing.T) {
	in := input("b-arb", EscrowInput{})
	in.ArbiterID = in.BuyerID
	requireRefusedStrictly(t, in, "buyer_id", "arbiter_id")
}

// One user in all three roles holds every key: the first clash found is named.
func TestOneUserCannotHoldAllThreeKeys(t *testing.T) {
	in := input("all-3", EscrowInput{})
	in.VendorID, in.ArbiterID = in.BuyerID, in.BuyerID
	requireRefusedStrictly(t, in, "buyer_id", "vendor_id")
}

// Paying out and refunding to the same address is allowed: a vendor may also be a buyer
// elsewhere, and the roles, not the addresses, hold the keys.
func TestTheSamePayoutAndRefundAddressIsAllowed(t *testing.T) {
	in := input("same-addr", EscrowInput{})
	in.BuyerRefundAddress = in.VendorPayoutAddress
	assert.NoError(t, in.Validate())
}

// Validate applies the base rules too, not only the new ones.
func TestValidateAppliesTheBaseRules(t *testing.T) {
	in := input("base", EscrowInput{})
	require.NoError(t, in.Validate())
	in.AmountAtomic = 0
	assert.NoError(t, in.validateStrict())
	assert.ErrorIs(t, in.Validate(), ErrInvalidInput)
}

func TestAPartlyPinnedAssignmentIsRefused(t *testing.T) {
	in := input("pin", EscrowInput{})
	in.Assignment = Assignment{Buyer: "buyers-own-rpc"}
	err := in.Validate()
	require.ErrorIs(t, err, ErrInvalidInput)
	require.ErrorContains(t, err, "pin all three or none")
	require.NoError(t, in.ValidateOriginal(), "escrows started before the rule replay under the old one")
	in.Assignment = Assignment{Buyer: "a", Vendor: "b", Arbiter: "c"}
	require.NoError(t, in.Validate(), "a full pin is fine")
}

// input is a valid escrow around id, with in's other fields.
func input(id string, in EscrowInput) EscrowInput {
	in.EscrowID, in.OrderID, in.BuyerID, in.VendorID, in.ArbiterID = id, "order-of-"+id, "u-buyer", "u-vendor", "u-arbiter"
	in.AmountAtomic = 1_500_000_000_000
	// Real mainnet addresses (public fixtures of package moneroaddr).
	in.VendorPayoutAddress = "48qYABs3W1BLzsHcPmPzqDMqQftxBBBQ5DtsEeULhsxqaWknsUPsLkdAq63wqANJ7L2ZdBbZxwVvBfZz3E4Aw4RUMFDn6h5"
	in.BuyerRefundAddress = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
	return in
}
