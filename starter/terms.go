package starter

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// ErrConflictingStart is returned when an escrow ID is started again with terms other than
// the ones it runs under: the second caller would otherwise believe its terms are in force.
var ErrConflictingStart = errors.New("escrow already exists with different terms")

// Option configures a Client.
type Option func(*Client)

// WithDataConverter makes the Client decode payloads it reads from history with dc. Pass
// the converter the Temporal client was dialled with (codec.DataConverter(keys)): inputs are
// encrypted, and without it a second start cannot read the existing terms and is refused.
func WithDataConverter(dc converter.DataConverter) Option {
	return func(s *Client) { s.dc = dc }
}

// checkSameTerms compares a repeated start with the escrow's existing input. Any
// disagreement, or terms it cannot read, refuses the start: answering "already running"
// to different terms would let a marketplace bug pay the wrong party or amount unnoticed.
func (s *Client) checkSameTerms(ctx context.Context, in escrow.EscrowInput) error {
	existing, err := s.existingInput(ctx, in.EscrowID)
	if err != nil {
		return fmt.Errorf("escrow %s already exists and its terms could not be compared: %w", in.EscrowID, err)
	}
	if diff := differingTerms(existing, in); len(diff) > 0 {
		// Field names only: the values are the existing escrow's, not the caller's to read.
		return fmt.Errorf("start escrow %s: %w: %s", in.EscrowID, ErrConflictingStart, strings.Join(diff, ", "))
	}
	return nil
}

// existingInput reads the input of the escrow's latest run from its first history event.
// Continue-as-new copies the input into each run (adding only Resume), so the latest run's
// input carries the terms the escrow was first started with.
func (s *Client) existingInput(ctx context.Context, escrowID string) (escrow.EscrowInput, error) {
	var in escrow.EscrowInput
	it := s.c.GetWorkflowHistory(ctx, escrow.WorkflowID(escrowID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return in, errors.New("its history is empty")
	}
	first, err := it.Next()
	if err != nil {
		return in, fmt.Errorf("read history: %w", err)
	}
	attrs := first.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return in, fmt.Errorf("first history event is %s, not the start", first.GetEventType())
	}
	if err := s.dc.FromPayloads(attrs.GetInput(), &in); err != nil {
		return in, fmt.Errorf("decode its input (is the starter given the client's data converter?): %w", err)
	}
	return in, nil
}

// differingTerms names (as in the input's JSON) the terms on which a and b disagree. Terms
// are what the parties agreed to; PurgeDelay, Timing and Assignment only tune how the escrow
// runs, so a retry may differ in them.
func differingTerms(a, b escrow.EscrowInput) []string {
	var diff []string
	check := func(name string, same bool) {
		if !same {
			diff = append(diff, name)
		}
	}
	check("order_id", a.OrderID == b.OrderID)
	check("buyer_id", a.BuyerID == b.BuyerID)
	check("vendor_id", a.VendorID == b.VendorID)
	check("arbiter_id", a.ArbiterID == b.ArbiterID)
	check("amount_atomic", a.AmountAtomic == b.AmountAtomic)
	check("vendor_payout_address", a.VendorPayoutAddress == b.VendorPayoutAddress)
	check("buyer_refund_address", a.BuyerRefundAddress == b.BuyerRefundAddress)
	check("network", network(a) == network(b))
	check("commission", a.Commission.Equal(b.Commission))
	return diff
}

// network spells the default out, so "" and "mainnet" are the same terms.
func network(in escrow.EscrowInput) string {
	if in.Network == "" {
		return "mainnet"
	}
	return in.Network
}
