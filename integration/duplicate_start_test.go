package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/codec"
	"github.com/xmr-escrow/xmr-escrow/starter"
)

// A second start of an escrow ID is a retry only if it carries the same terms; one with
// another amount or another vendor must not be told "already running", or the marketplace
// would believe terms are in force that the multisig never agreed to.
func TestASecondStartWithDifferentTermsIsRefused(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Built as cmd/starter builds it: the payloads in history are encrypted.
	st := starter.New(s.Client, s.Store, starter.WithDataConverter(codec.DataConverter(s.Keys)))

	first, err := st.Start(ctx, input("dup", 0))
	require.NoError(t, err)
	require.False(t, first.Existing)

	again, err := st.Start(ctx, input("dup", time.Second))
	require.NoError(t, err, "the same terms (a different purge delay is tuning, not terms) is a retry")
	assert.True(t, again.Existing)
	assert.Equal(t, first.RunID, again.RunID)

	more := input("dup", 0)
	more.AmountAtomic *= 2
	_, err = st.Start(ctx, more)
	require.ErrorIs(t, err, starter.ErrConflictingStart)
	assert.Contains(t, err.Error(), "amount_atomic")
	assert.NotContains(t, err.Error(), "4000000000000", "field names only, no values")

	other := input("dup", 0)
	other.VendorID = "vendor-mallory"
	_, err = st.Start(ctx, other)
	require.ErrorIs(t, err, starter.ErrConflictingStart)
	assert.Contains(t, err.Error(), "vendor_id")
	assert.NotContains(t, err.Error(), "amount_atomic")

	// Without the client's converter the terms cannot be read: refused, never "existing".
	blind := starter.New(s.Client, nil)
	_, err = blind.Start(ctx, input("dup", 0))
	require.Error(t, err)
	assert.NotErrorIs(t, err, starter.ErrConflictingStart)

	status, err := st.Status(ctx, "dup")
	require.NoError(t, err)
	assert.Equal(t, input("dup", 0).AmountAtomic, status.AmountAtomic, "the running escrow keeps its terms")
	assert.Equal(t, vendorAddr, status.VendorPayoutAddress)
}
