package escrow

// Order is what the marketplace's order fixes about an escrow: who holds the three keys, what
// the buyer pays, and the only two places the money may go. Every record of an escrow (the
// workflow's input and state, the projection's input and row, the client's view) embeds it,
// so these fields are declared, and their JSON and column names spelled, once.
type Order struct {
	// OrderID is the marketplace's order this escrow protects.
	OrderID string `json:"order_id" db:"order_id"`
	// BuyerID, VendorID and ArbiterID are the marketplace's user IDs of the key holders.
	BuyerID   string `json:"buyer_id" db:"buyer_id"`
	VendorID  string `json:"vendor_id" db:"vendor_id"`
	ArbiterID string `json:"arbiter_id" db:"arbiter_id"`
	// AmountAtomic is the price in atomic units (piconero, 1 XMR = 1e12).
	AmountAtomic int64 `json:"amount_atomic" db:"amount_atomic"`
	// VendorPayoutAddress receives a release, BuyerRefundAddress a refund.
	VendorPayoutAddress string `json:"vendor_payout_address" db:"vendor_payout_address"`
	BuyerRefundAddress  string `json:"buyer_refund_address" db:"buyer_refund_address"`
	// Commission, if set, is the marketplace's cut of what the vendor is paid (shares.go).
	Commission *Commission `json:"commission,omitempty" db:"-"`
}

// Summary is an escrow at a glance: its order and where it stands. The status query's State,
// the projection's input and the client's view embed it.
type Summary struct {
	EscrowID string `json:"escrow_id"`
	Order
	// Status is the marketplace's coarse view, derived from Phase.
	Status Status `json:"status"`
	Phase  Phase  `json:"phase"`
	// Round is 1..3 while Exchanging, the last round reached otherwise.
	Round int `json:"round"`
	// Address is the multisig address, set once Ready.
	Address string `json:"address,omitempty"`
	// Reason says why the setup failed, once Failed.
	Reason string `json:"reason,omitempty"`
}
