package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// fakePlacer stands in for the shared lease table (store.Store, tested on PostgreSQL).
type fakePlacer struct {
	placed   []store.Placed
	err      error
	released []string
	waiter   string
	// holder is the setup YieldInstance reports; wants records the instances it marked.
	holder string
	wants  []string
}

func (f *fakePlacer) PlaceEscrow(context.Context, store.PlaceRequest) ([]store.Placed, error) {
	return f.placed, f.err
}

func (f *fakePlacer) ReleaseLease(_ context.Context, instance, escrowID string) (bool, error) {
	f.released = append(f.released, instance+"/"+escrowID)
	return true, nil
}

func (f *fakePlacer) PopLeaseWaiter(context.Context, time.Duration) (string, bool, error) {
	return f.waiter, f.waiter != "", nil
}

func (f *fakePlacer) YieldInstance(_ context.Context, instance, _ string, want bool) (string, error) {
	if want && f.holder != "" {
		f.wants = append(f.wants, instance)
	}
	return f.holder, nil
}

func TestASharedPoolRecordsWhichHostHoldsEachRole(t *testing.T) {
	p, err := NewPool([]string{"local"})
	require.NoError(t, err)
	f := &fakePlacer{placed: []store.Placed{{Instance: "i1", Host: "a"}, {Instance: "i2", Host: "b"}, {Instance: "i3", Host: "c"}}}
	p.Share(f, time.Minute)
	a, err := p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "e"})
	require.NoError(t, err)
	assert.Equal(t, escrow.Assignment{Buyer: "i1", Vendor: "i2", Arbiter: "i3", Hosts: &escrow.Hosts{Buyer: "a", Vendor: "b", Arbiter: "c"}}, a)
	assert.False(t, a.SharesHost())

	f.placed = f.placed[:2]
	a, err = p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "e"})
	require.NoError(t, err)
	assert.Equal(t, "i1", a.Arbiter, "two live instances: the third role goes round to the first")
	assert.True(t, a.SharesHost())
}

func TestASharedPoolWithNoRoomOrNoInstancesWaitsForCapacity(t *testing.T) {
	p, err := NewPool([]string{"local"})
	require.NoError(t, err)
	f := &fakePlacer{}
	p.Share(f, time.Minute)
	_, err = p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "e"})
	noCapacity(t, err)
	f.err = store.ErrNoInstances
	_, err = p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "e"})
	noCapacity(t, err)
	f.err = errors.New("connection refused")
	_, err = p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "e"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connection refused", "a database outage is an ordinary retryable failure")
}

func TestASharedReleaseWakesTheWaiterTheTableNames(t *testing.T) {
	p, err := NewPool([]string{"local"})
	require.NoError(t, err)
	f := &fakePlacer{waiter: "next"}
	p.Share(f, time.Minute)
	var woken []string
	p.SetWake(func(id string) { woken = append(woken, id) })
	ok, err := p.ReleaseShared(context.Background(), "i1", "e")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []string{"i1/e"}, f.released)
	assert.Equal(t, []string{"next"}, woken)
}
