package escrow

import (
	"errors"
	"strings"
	"testing"

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
