package placement

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/activities/internal/fakeplacer"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

func TestASharedPoolRecordsWhichHostHoldsEachRole(t *testing.T) {
	p, err := New([]string{"local"})
	require.NoError(t, err)
	f := &fakeplacer.Placer{Placed: []store.Placed{{Instance: "i1", Host: "a"}, {Instance: "i2", Host: "b"}, {Instance: "i3", Host: "c"}}}
	p.Share(f, time.Minute)
	a, err := p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "e"})
	require.NoError(t, err)
	assert.Equal(t, escrow.Assignment{Buyer: "i1", Vendor: "i2", Arbiter: "i3", Hosts: &escrow.Hosts{Buyer: "a", Vendor: "b", Arbiter: "c"}}, a)
	assert.False(t, a.SharesHost())

	f.Placed = f.Placed[:2]
	a, err = p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "e"})
	require.NoError(t, err)
	assert.Equal(t, "i1", a.Arbiter, "two live instances: the third role goes round to the first")
	assert.True(t, a.SharesHost())
}

func TestASharedPoolWithNoRoomOrNoInstancesWaitsForCapacity(t *testing.T) {
	p, err := New([]string{"local"})
	require.NoError(t, err)
	f := &fakeplacer.Placer{}
	p.Share(f, time.Minute)
	_, err = p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "e"})
	noCapacity(t, err)
	f.Err = store.ErrNoInstances
	_, err = p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "e"})
	noCapacity(t, err)
	f.Err = errors.New("connection refused")
	_, err = p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "e"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connection refused", "a database outage is an ordinary retryable failure")
}

func TestASharedReleaseWakesTheWaiterTheTableNames(t *testing.T) {
	p, err := New([]string{"local"})
	require.NoError(t, err)
	f := &fakeplacer.Placer{Waiter: "next"}
	p.Share(f, time.Minute)
	var woken []string
	p.SetWake(func(id string) { woken = append(woken, id) })
	ok, err := p.ReturnShared(context.Background(), "i1", "e")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []string{"i1/e"}, f.Released)
	assert.Equal(t, []string{"next"}, woken)
}
