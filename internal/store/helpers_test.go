package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/internal/store/schema"
	"github.com/xmr-escrow/xmr-escrow/internal/store/storetest"
	"github.com/xmr-escrow/xmr-escrow/keyring"
)

// secretMarker starts every fake multisig info, so a test can search the raw table for it.
const secretMarker = "MultisigxV2"

// testCtx bounds every test so a wedged server fails the test instead of hanging it.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newKeyring makes a one-key keyring and returns its spec too, for rotation tests.
func newKeyring(t *testing.T, id string) (*keyring.Keyring, string) {
	t.Helper()
	k, spec, err := keyring.Generate(id)
	require.NoError(t, err)
	return k, spec
}

// openStore opens a Store on a fresh database with a fresh keyring.
func openStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	dsn := storetest.NewDatabase(t)
	keys, _ := newKeyring(t, "k1")
	return openWith(t, dsn, keys), dsn
}

// openWith opens a Store on dsn and closes it when the test ends.
func openWith(t *testing.T, dsn string, keys *keyring.Keyring) *store.Store {
	t.Helper()
	s, err := schema.Open(testCtx(t), dsn, keys)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// address returns a 95-character stand-in for a multisig address, distinct per n.
func address(n int) string {
	a := fmt.Sprintf("4%d", n)
	return a + strings.Repeat("A", escrow.AddressLength-len(a))
}

// infos returns fake multisig infos for version v of an escrow.
func infos(v int64) map[escrow.Role]string {
	out := make(map[escrow.Role]string, len(escrow.Roles))
	for _, r := range escrow.Roles {
		out[r] = fmt.Sprintf("%ssecret-%s-v%d-%s", secretMarker, r, v, strings.Repeat("x", 40))
	}
	return out
}

// sample returns a valid escrow at the given version whose content depends on the version,
// so that a test can tell which write the row holds.
func sample(id string, version int64) store.Escrow {
	round := int(version % (escrow.Rounds + 1))
	phase := escrow.PhaseExchanging
	addr := ""
	switch {
	case round == 0:
		phase = escrow.PhasePreparing
	case round == escrow.Rounds && version%8 == 7:
		phase = escrow.PhaseReady
		addr = address(int(version))
	}
	return store.Escrow{
		EscrowID: id,
		Order: escrow.Order{
			OrderID: "order-" + id, BuyerID: "buyer-1", VendorID: "vendor-1", ArbiterID: "arbiter-1",
			AmountAtomic:        1_000_000_000_000 + version,
			VendorPayoutAddress: address(int(version) + 1000), BuyerRefundAddress: address(int(version) + 2000),
		},
		Status:  escrow.StatusOf(phase),
		Phase:   phase,
		Round:   round,
		Address: addr,
		State: store.MultisigState{
			SchemaVersion: store.StateSchemaVersion,
			Phase:         phase,
			Round:         round,
			Wallets:       map[escrow.Role]string{escrow.Buyer: escrow.WalletName(id, escrow.Buyer)},
			Instances:     map[escrow.Role]string{escrow.Buyer: "rpc-1", escrow.Vendor: "rpc-2", escrow.Arbiter: "rpc-3"},
			Reason:        fmt.Sprintf("v%d", version),
		},
		MultisigInfos: infos(version),
		WorkflowID:    escrow.WorkflowID(id),
		RunID:         "run-1",
		Version:       version,
	}
}

// requireSameContent compares everything but the database's timestamps.
func requireSameContent(t *testing.T, want, got store.Escrow) {
	t.Helper()
	got.CreatedAt, got.UpdatedAt = time.Time{}, time.Time{}
	want.CreatedAt, want.UpdatedAt = time.Time{}, time.Time{}
	require.Equal(t, want, got)
}
