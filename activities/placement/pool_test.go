package placement

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

func noCapacity(t *testing.T, err error) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	assert.Equal(t, escrow.ErrTypeNoCapacity, appErr.Type())
	assert.False(t, appErr.NonRetryable(), "waiting for capacity is a retry")
}

func TestPoolLeasesThreeDistinctInstancesAllOrNothing(t *testing.T) {
	p, err := New([]string{"r1", "r2", "r3", "r4"})
	require.NoError(t, err)
	ctx := context.Background()
	a, err := p.AssignWalletRPCs(ctx, AssignInput{EscrowID: "a"})
	require.NoError(t, err)
	assert.Len(t, map[string]bool{a.Buyer: true, a.Vendor: true, a.Arbiter: true}, 3)
	assert.Equal(t, 3, p.Busy())

	_, err = p.AssignWalletRPCs(ctx, AssignInput{EscrowID: "b"})
	noCapacity(t, err)
	assert.Equal(t, 3, p.Busy(), "a failed assignment holds nothing")

	again, err := p.AssignWalletRPCs(ctx, AssignInput{EscrowID: "a"})
	require.NoError(t, err)
	assert.Equal(t, a, again, "asking again returns the escrow's own leases")

	assert.True(t, p.Return(a.Buyer, "a"))
	assert.False(t, p.Return(a.Buyer, "a"), "a second release is a no-op")
	assert.False(t, p.Return(a.Vendor, "b"), "only the holder releases")
	_, err = p.AssignWalletRPCs(ctx, AssignInput{EscrowID: "b"})
	noCapacity(t, err) // two idle instances are not enough
	assert.True(t, p.Return(a.Vendor, "a"))
	assert.True(t, p.Return(a.Arbiter, "a"))
	assert.Zero(t, p.Busy())
	_, err = p.AssignWalletRPCs(ctx, AssignInput{EscrowID: "b"})
	require.NoError(t, err)
}

func TestPoolSmallerThanThreeSharesItsInstances(t *testing.T) {
	p, err := New([]string{"only"})
	require.NoError(t, err)
	a, err := p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "a"})
	require.NoError(t, err)
	assert.Equal(t, escrow.Assignment{Buyer: "only", Vendor: "only", Arbiter: "only"}, a)
}

func TestPoolLeaseExpires(t *testing.T) {
	p, err := New([]string{"r1", "r2", "r3"})
	require.NoError(t, err)
	now := time.Unix(1000, 0)
	p.now = func() time.Time { return now }
	_, err = p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "lost"})
	require.NoError(t, err)
	_, err = p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "next"})
	noCapacity(t, err)
	now = now.Add(DefaultLeaseTTL + time.Second)
	_, err = p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "next"})
	require.NoError(t, err, "a lease whose release never came expires")
}

func TestPoolNeverLeasesAnInstanceTwiceUnderContention(t *testing.T) {
	names := []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"}
	p, err := New(names)
	require.NoError(t, err)
	var wg sync.WaitGroup
	got := make([]escrow.Assignment, 40)
	ok := make([]bool, len(got))
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: string(rune('a'+i%26)) + "x" + string(rune('a'+i/26))})
			got[i], ok[i] = a, err == nil
		}()
	}
	wg.Wait()
	owner := map[string]int{}
	winners := 0
	for i, a := range got {
		if !ok[i] {
			continue
		}
		winners++
		for _, inst := range []string{a.Buyer, a.Vendor, a.Arbiter} {
			prev, taken := owner[inst]
			assert.False(t, taken, "instance %s leased to %d and %d", inst, prev, i)
			owner[inst] = i
		}
	}
	assert.Equal(t, len(names)/3, winners)
}

func TestPoolRejectsBadConfigAndInput(t *testing.T) {
	_, err := New(nil)
	assert.Error(t, err)
	_, err = New([]string{"a", "a"})
	assert.Error(t, err)
	p, _ := New([]string{"a"})
	_, err = p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "bad/id"})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	assert.True(t, appErr.NonRetryable())
}

func TestPoolSkipsUnhealthyInstances(t *testing.T) {
	p, err := New([]string{"r1", "r2", "r3", "r4"})
	require.NoError(t, err)
	down := map[string]bool{"r2": true}
	p.SetHealth(func(name string) bool { return !down[name] })
	a, err := p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "a"})
	require.NoError(t, err)
	assert.NotContains(t, []string{a.Buyer, a.Vendor, a.Arbiter}, "r2", "a dead instance gets no new escrow")
	p.Return(a.Buyer, "a")
	p.Return(a.Vendor, "a")
	p.Return(a.Arbiter, "a")
	down["r1"] = true
	_, err = p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "b"})
	noCapacity(t, err) // two live instances are not enough: wait for one to come back
}

func TestRestoredLeasesAreNotHandedToAnotherSetup(t *testing.T) {
	p, err := New([]string{"a", "b", "c", "d"})
	require.NoError(t, err)
	assert.Equal(t, 2, p.Restore("in-setup", []string{"a", "c", "elsewhere"}), "only this pool's instances")
	_, err = p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "new"})
	assert.Error(t, err, "two of four instances are still leased: no room for three roles")
	assert.True(t, p.Return("a", "in-setup"))
	got, err := p.AssignWalletRPCs(context.Background(), AssignInput{EscrowID: "new"})
	require.NoError(t, err)
	assert.NotContains(t, []string{got.Buyer, got.Vendor, got.Arbiter}, "c", "c stays with the setup that holds it")
}

// TestAReleaseWakesTheOldestRefusedSetupOnceItFits: a setup's three releases wake one
// waiter, on the last of them, oldest first; a waiter that got capacity meanwhile is not
// woken, and nobody is woken while a setup would not fit.
func TestAReleaseWakesTheOldestRefusedSetupOnceItFits(t *testing.T) {
	p, err := New([]string{"r1", "r2", "r3"})
	require.NoError(t, err)
	var woken []string
	p.SetWake(func(id string) { woken = append(woken, id) })
	ctx := context.Background()
	a, err := p.AssignWalletRPCs(ctx, AssignInput{EscrowID: "a"})
	require.NoError(t, err)
	for _, id := range []string{"b", "c", "b", "d"} {
		_, err := p.AssignWalletRPCs(ctx, AssignInput{EscrowID: id})
		noCapacity(t, err)
	}
	assert.Equal(t, 3, p.Waiting(), "each refused escrow is remembered once")

	p.Return(a.Buyer, "a")
	p.Return(a.Vendor, "a")
	assert.Empty(t, woken, "two idle instances do not fit a setup")
	p.Return(a.Arbiter, "a")
	assert.Equal(t, []string{"b"}, woken, "the oldest waiter, once")

	// c gets the instances on its own timer before b asks again: d is next, not c.
	c, err := p.AssignWalletRPCs(ctx, AssignInput{EscrowID: "c"})
	require.NoError(t, err)
	for _, in := range []string{c.Buyer, c.Vendor, c.Arbiter} {
		p.Return(in, "c")
	}
	assert.Equal(t, []string{"b", "d"}, woken)
	assert.Equal(t, 0, p.Waiting())
	assert.False(t, p.Return(c.Buyer, "c"), "a second release frees nothing")
	assert.Equal(t, []string{"b", "d"}, woken, "and wakes nobody")
}
