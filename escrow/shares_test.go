package escrow

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	vendorAt      = "vendor-address"
	buyerAt       = "buyer-address"
	marketplaceAt = "marketplace-address"
	xmr           = 1_000_000_000_000
)

func division(vendor uint64, bps uint32) Division {
	d := Division{VendorAtomic: vendor, VendorAddress: vendorAt, BuyerAddress: buyerAt}
	if bps > 0 {
		d.Commission = &Commission{BasisPoints: bps, Address: marketplaceAt}
	}
	return d
}

// The buyer pays twice the price: the vendor gets the price less the fee, the buyer the
// overpayment whole.
func TestAnOverpaymentGoesBackToTheBuyerWhole(t *testing.T) {
	shares, err := division(3*xmr, 0).Divide(6*xmr, 40_000_000)
	require.NoError(t, err)
	assert.Equal(t, []Share{
		{Party: PartyVendor, Address: vendorAt, AmountAtomic: 3*xmr - 40_000_000},
		{Party: PartyBuyer, Address: buyerAt, AmountAtomic: 3 * xmr},
	}, shares)
}

// A split of 70/30 with a 2 % commission: the commission comes out of the vendor's 70, the
// vendor pays the fee, the buyer's 30 arrives whole; nothing is lost or made up.
func TestASplitWithACommissionPaysEachPartyItsShare(t *testing.T) {
	const funded, fee = 10 * xmr, 31_415_926
	shares, err := division(7*xmr, 200).Divide(funded, fee)
	require.NoError(t, err)
	assert.Equal(t, []Share{
		{Party: PartyVendor, Address: vendorAt, AmountAtomic: 7*xmr - 140_000_000_000 - fee},
		{Party: PartyMarketplace, Address: marketplaceAt, AmountAtomic: 140_000_000_000},
		{Party: PartyBuyer, Address: buyerAt, AmountAtomic: 3 * xmr},
	}, shares)
	var sum uint64
	for _, s := range shares {
		sum += s.AmountAtomic
	}
	assert.Equal(t, uint64(funded-fee), sum, "every piconero is someone's")
}

func TestARefundGivesTheBuyerEverythingLessTheFee(t *testing.T) {
	shares, err := division(0, 200).Divide(2*xmr, 7)
	require.NoError(t, err)
	assert.Equal(t, []Share{{Party: PartyBuyer, Address: buyerAt, AmountAtomic: 2*xmr - 7}}, shares, "no commission on a refund")
}

func TestAnExactPaymentReleasesToTheVendorAlone(t *testing.T) {
	shares, from, err := division(2*xmr, 0).Destinations(2 * xmr)
	require.NoError(t, err)
	assert.Equal(t, []Share{{Party: PartyVendor, Address: vendorAt, AmountAtomic: 2 * xmr}}, shares)
	assert.Zero(t, from, "the vendor pays the fee")
}

// The commission is rounded down, never up: the marketplace never takes a piconero that is
// not its own, and the vendor keeps the remainder.
func TestTheCommissionRoundsDown(t *testing.T) {
	c := &Commission{BasisPoints: 333, Address: marketplaceAt}
	assert.Equal(t, uint64(3), c.Of(99))
	assert.Equal(t, uint64(0), c.Of(30))
	assert.Equal(t, uint64(0), (*Commission)(nil).Of(xmr))
	// No overflow at the largest price an order can name.
	assert.Equal(t, uint64(1<<63-1)/10_000*5_000+(uint64(1<<63-1)%10_000)*5_000/10_000,
		(&Commission{BasisPoints: 5_000}).Of(1<<63-1))
}

func TestADivisionTheEscrowCannotPayIsAShortfall(t *testing.T) {
	_, err := division(3*xmr, 0).Divide(2*xmr, 1)
	require.ErrorIs(t, err, ErrShortfall, "less money than the vendor's part: a reorg took the payment")
	_, err = division(0, 0).Divide(5, 5)
	require.ErrorIs(t, err, ErrShortfall, "a refund that cannot pay its own fee")
	_, err = division(0, 0).Divide(0, 0)
	require.ErrorIs(t, err, ErrShortfall, "nothing to pay")
}

func TestSharesToOneAddressAreSummed(t *testing.T) {
	d := division(xmr, 0)
	d.BuyerAddress = vendorAt
	shares, err := d.Divide(3*xmr, 10)
	require.NoError(t, err)
	assert.Equal(t, map[string]uint64{vendorAt: 3*xmr - 10}, ByAddress(shares))
}

func TestACommissionIsATermCheckedAtTheDoor(t *testing.T) {
	in := input("commission", EscrowInput{})
	in.Commission = &Commission{BasisPoints: 200, Address: in.VendorPayoutAddress}
	require.NoError(t, in.Validate())
	for name, c := range map[string]*Commission{
		"zero":        {BasisPoints: 0, Address: in.VendorPayoutAddress},
		"over half":   {BasisPoints: MaxCommissionBasisPoints + 1, Address: in.VendorPayoutAddress},
		"bad address": {BasisPoints: 100, Address: "4notanaddress"},
	} {
		in.Commission = c
		assert.ErrorIs(t, in.Validate(), ErrInvalidInput, name)
		assert.NoError(t, in.ValidateOriginal(), "%s: the original rules never look at it", name)
	}
}
