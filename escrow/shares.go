package escrow

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/xmr-escrow/xmr-escrow/moneroaddr"
)

// The money rule of every payout decided under ExactShares, in one place: the builder computes
// its destinations with it and the co-signer checks the transaction against it, to the
// piconero (docs/money.md, "Who gets what").
//
//   - The vendor's part is decided: the price on a release, the agreed amount on a split,
//     nothing on a refund. The marketplace's commission is BasisPoints of that part, rounded
//     down, and is paid out of it.
//   - Everything else the escrow can spend goes back to the buyer: an overpayment on a
//     release, the rest of a split, all of it on a refund.
//   - The network fee is paid by the vendor whenever the vendor is paid, otherwise by the
//     buyer. The commission and the buyer's part of a release or a split arrive whole.
//   - Outputs worth less than the cost of spending them (dust) are not spent and not divided.

// MaxCommissionBasisPoints caps a commission at half of the vendor's part.
const MaxCommissionBasisPoints = 5000

// MinVendorSplitAtomic is the least a split may leave the vendor after the commission
// (0.01 XMR): the vendor's part pays the network fee, so a smaller one could not.
const MinVendorSplitAtomic = 10_000_000_000

// Commission is the marketplace's cut of what the vendor is paid, a term of the escrow:
// BasisPoints of the vendor's part (100 = 1 %), paid to Address in the same payout.
type Commission struct {
	BasisPoints uint32 `json:"basis_points"`
	Address     string `json:"address"`
}

// Of is the commission on a vendor's part, rounded down.
func (c *Commission) Of(vendorAtomic uint64) uint64 {
	if c == nil || c.BasisPoints == 0 {
		return 0
	}
	hi, lo := bits.Mul64(vendorAtomic, uint64(c.BasisPoints))
	q, _ := bits.Div64(hi, lo, 10_000) // hi < 10,000 since BasisPoints <= 10,000
	return q
}

// Equal reports whether two commissions are the same term; none on both sides is.
func (c *Commission) Equal(o *Commission) bool {
	if c == nil || o == nil {
		return c == o
	}
	return *c == *o
}

// validate checks a commission named in an escrow's input.
func (c *Commission) validate(network moneroaddr.Network) error {
	if c == nil {
		return nil
	}
	if c.BasisPoints == 0 || c.BasisPoints > MaxCommissionBasisPoints {
		return fmt.Errorf("%w: commission.basis_points must be 1-%d, got %d", ErrInvalidInput, MaxCommissionBasisPoints, c.BasisPoints)
	}
	if err := moneroaddr.Valid(c.Address, network); err != nil {
		return fmt.Errorf("%w: commission.address: %w", ErrInvalidInput, err)
	}
	return nil
}

// Party names who receives a share of a payout.
type Party string

// The parties a payout can pay.
const (
	PartyVendor      Party = "vendor"
	PartyMarketplace Party = "marketplace"
	PartyBuyer       Party = "buyer"
)

// Share is one destination of a payout and what it receives, to the piconero.
type Share struct {
	Party        Party  `json:"party"`
	Address      string `json:"address"`
	AmountAtomic uint64 `json:"amount_atomic"`
}

// Division is a decided payout's terms: the vendor's part, the commission on it, and where
// each part goes. Together with what the escrow can spend and the fee, it fixes every share.
type Division struct {
	// VendorAtomic is the vendor's part, commission included: the price on a release, the
	// agreed amount on a split, 0 on a refund.
	VendorAtomic  uint64      `json:"vendor_atomic"`
	Commission    *Commission `json:"commission,omitempty"`
	VendorAddress string      `json:"vendor_address"`
	BuyerAddress  string      `json:"buyer_address"`
}

// ErrShortfall is a division the escrow cannot pay: it holds less than the vendor's part, or
// the party that pays the fee would be left with nothing.
var ErrShortfall = errors.New("the escrow cannot pay this division")

// Destinations are the shares before the network fee, in a fixed order (vendor,
// marketplace, buyer; parts of zero left out), and the index of the one that pays the fee.
func (d Division) Destinations(spendable uint64) (shares []Share, feeFrom int, err error) {
	if d.VendorAtomic > spendable {
		return nil, 0, fmt.Errorf("%w: the vendor's part is %d but the escrow can spend %d", ErrShortfall, d.VendorAtomic, spendable)
	}
	if d.VendorAtomic > 0 {
		c := d.Commission.Of(d.VendorAtomic)
		shares = append(shares, Share{Party: PartyVendor, Address: d.VendorAddress, AmountAtomic: d.VendorAtomic - c})
		if c > 0 {
			shares = append(shares, Share{Party: PartyMarketplace, Address: d.Commission.Address, AmountAtomic: c})
		}
	}
	if rest := spendable - d.VendorAtomic; rest > 0 {
		shares = append(shares, Share{Party: PartyBuyer, Address: d.BuyerAddress, AmountAtomic: rest})
	}
	if len(shares) == 0 {
		return nil, 0, fmt.Errorf("%w: nothing to pay", ErrShortfall)
	}
	return shares, 0, nil // the vendor's share when there is one, else the buyer's only share
}

// Divide is the exact shares of spendable once the fee is paid.
func (d Division) Divide(spendable, fee uint64) ([]Share, error) {
	shares, from, err := d.Destinations(spendable)
	if err != nil {
		return nil, err
	}
	if shares[from].AmountAtomic <= fee {
		return nil, fmt.Errorf("%w: the %s's share of %d cannot pay a fee of %d", ErrShortfall, shares[from].Party, shares[from].AmountAtomic, fee)
	}
	shares[from].AmountAtomic -= fee
	return shares, nil
}

// ByAddress sums shares per address: two parties may use one address, and a transaction
// pays an address once.
func ByAddress(shares []Share) map[string]uint64 {
	out := make(map[string]uint64, len(shares))
	for _, s := range shares {
		out[s.Address] += s.AmountAtomic
	}
	return out
}
