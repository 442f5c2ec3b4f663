package escrow

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestValidateID(t *testing.T) {
	for _, ok := range []string{"a", "order-123", "A_b-9", strings.Repeat("x", 64)} {
		assert.NoError(t, ValidateID(ok), ok)
	}
	for _, bad := range []string{"", "-lead", "_lead", "a/b", "..", "../x", "a b", "é", strings.Repeat("x", 65), "a.keys"} {
		err := ValidateID(bad)
		assert.True(t, errors.Is(err, ErrInvalidID), "%q: %v", bad, err)
	}
}

func TestOthersKeepsTheFixedOrder(t *testing.T) {
	assert.Equal(t, []Role{Vendor, Arbiter}, Buyer.Others())
	assert.Equal(t, []Role{Buyer, Arbiter}, Vendor.Others())
	assert.Equal(t, []Role{Buyer, Vendor}, Arbiter.Others())
	assert.False(t, Role("thief").Valid())
}

func TestNamesAreDerivedFromTheEscrowID(t *testing.T) {
	assert.Equal(t, "escrow-o1", WorkflowID("o1"))
	assert.Equal(t, "escrow-o1-vendor", WalletName("o1", Vendor))
	assert.Equal(t, "wallet-rpc-rpc-1", WalletTaskQueue("rpc-1"))
	a := Assignment{Buyer: "x", Vendor: "y", Arbiter: "z"}
	assert.Equal(t, "y", a.For(Vendor))
	assert.True(t, a.Complete())
	assert.False(t, Assignment{Buyer: "x"}.Complete())
}

func TestTheWatchedPollDefaultsToTheSafetyNetUnlessPollsWereTuned(t *testing.T) {
	assert.Equal(t, DefaultFundingSafetyNet, Timing{}.WithDefaults().FundingWatchedPollMax)
	assert.Equal(t, 10*time.Minute, Timing{}.WithDefaults().FundingPollMax, "the unwatched poll is unchanged")
	assert.Equal(t, 2*time.Second, Timing{FundingPollMax: 2 * time.Second}.WithDefaults().FundingWatchedPollMax,
		"a caller that asked for quick polls keeps them")
	assert.Equal(t, time.Hour, Timing{FundingPollMax: 2 * time.Second, FundingWatchedPollMax: time.Hour}.WithDefaults().FundingWatchedPollMax)
}

func TestASightingListStaysBounded(t *testing.T) {
	var w FundingWatch
	for range maxPaymentsSeen + 5 {
		w.Note(PaymentSeen{TxHash: strings.Repeat("ab", 100), AmountAtomic: 1})
	}
	assert.Equal(t, maxPaymentsSeen+5, w.Signals)
	assert.Len(t, w.Seen, maxPaymentsSeen)
	assert.Len(t, w.Seen[0].TxHash, 64, "an over-long hash is cut")
}
