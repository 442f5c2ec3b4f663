package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// beat announces n healthy, accepting instances "<host>-<i>" for each host.
func beat(t *testing.T, s *store.Store, n int, hosts ...string) {
	t.Helper()
	for _, h := range hosts {
		var beats []store.InstanceBeat
		for i := range n {
			beats = append(beats, store.InstanceBeat{Instance: fmt.Sprintf("%s-%d", h, i), Healthy: true, Accepting: true})
		}
		require.NoError(t, s.BeatInstances(testCtx(t), h, beats))
	}
}

func place(t *testing.T, s *store.Store, id string) []store.Placed {
	t.Helper()
	p, err := s.PlaceEscrow(testCtx(t), store.PlaceRequest{EscrowID: id, TTL: time.Minute, Live: time.Minute})
	require.NoError(t, err)
	return p
}

func hostsOf(p []store.Placed) map[string]int {
	out := map[string]int{}
	for _, x := range p {
		out[x.Host]++
	}
	return out
}

func TestEveryEscrowsThreeKeysLandOnThreeHostsWhenThereAreThree(t *testing.T) {
	s, _ := openStore(t)
	beat(t, s, 2, "a", "b", "c")
	for i := range 2 {
		p := place(t, s, fmt.Sprintf("e%d", i))
		require.Len(t, p, 3)
		assert.Len(t, hostsOf(p), 3, "one role per host: %+v", p)
	}
	// Six instances, two setups: the third waits and is recorded as a waiter.
	assert.Nil(t, place(t, s, "e2"), "no capacity")
	n, err := s.CountLeaseWaiters(testCtx(t))
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
}

func TestTwoHostsHoldAnEscrowTwoAndOne(t *testing.T) {
	s, _ := openStore(t)
	beat(t, s, 3, "a", "b")
	p := place(t, s, "e1")
	require.Len(t, p, 3)
	assert.Len(t, hostsOf(p), 2, "both hosts hold a share: %+v", p)
	assert.Equal(t, p, place(t, s, "e1"), "asking again returns the same instances in the same role order")
}

func TestAReleaseWakesTheOldestWaiterOnlyWhenASetupFits(t *testing.T) {
	s, _ := openStore(t)
	ctx := testCtx(t)
	beat(t, s, 3, "a")
	p := place(t, s, "first")
	require.Len(t, p, 3)
	assert.Nil(t, place(t, s, "second"))
	assert.Nil(t, place(t, s, "third"))
	ok, err := s.ReturnLease(ctx, p[0].Instance, "first")
	require.NoError(t, err)
	assert.True(t, ok)
	_, woke, err := s.PopLeaseWaiter(ctx, time.Minute)
	require.NoError(t, err)
	assert.False(t, woke, "one free instance does not fit a setup")
	ok, err = s.ReturnLease(ctx, p[0].Instance, "first")
	require.NoError(t, err)
	assert.False(t, ok, "a lease is released once")
	for _, x := range p[1:] {
		_, err := s.ReturnLease(ctx, x.Instance, "first")
		require.NoError(t, err)
	}
	id, woke, err := s.PopLeaseWaiter(ctx, time.Minute)
	require.NoError(t, err)
	require.True(t, woke)
	assert.Equal(t, "second", id, "oldest first")
}

func TestASetupStalledOnADeadHostDoesNotHoldTheLiveHostsInstances(t *testing.T) {
	s, _ := openStore(t)
	ctx := testCtx(t)
	const live = 200 * time.Millisecond
	placeLive := func(id string) []store.Placed {
		p, err := s.PlaceEscrow(ctx, store.PlaceRequest{EscrowID: id, TTL: time.Minute, Live: live})
		require.NoError(t, err)
		return p
	}
	beat(t, s, 2, "a", "b")
	p := placeLive("stalled")
	require.Len(t, p, 3)
	require.NoError(t, s.RetireInstances(ctx, []string{"a-0", "a-1"}, live))
	beat(t, s, 2, "b")
	assert.Nil(t, placeLive("next"), "a stopped host's setups keep their leases for a while: a rolling deploy takes seconds")
	time.Sleep(3 * live)
	beat(t, s, 2, "b")
	q := placeLive("next")
	require.Len(t, q, 2, "host b's two instances, one of them taken back from the stalled setup")
	assert.Equal(t, map[string]int{"b": 2}, hostsOf(q))
}

func TestADrainingOrUnhealthyInstanceTakesNoSetup(t *testing.T) {
	s, _ := openStore(t)
	ctx := testCtx(t)
	require.NoError(t, s.BeatInstances(ctx, "a", []store.InstanceBeat{
		{Instance: "up", Healthy: true, Accepting: true},
		{Instance: "draining", Healthy: true},
		{Instance: "down", Accepting: true},
	}))
	p := place(t, s, "e")
	assert.Equal(t, []store.Placed{{Instance: "up", Host: "a"}}, p, "one live instance holds all three roles")
	_, err := s.PlaceEscrow(ctx, store.PlaceRequest{EscrowID: "bad id!", TTL: time.Minute, Live: time.Minute})
	assert.ErrorIs(t, err, store.ErrInvalid)
}

func TestConcurrentPlacementsNeverShareAnInstance(t *testing.T) {
	s, _ := openStore(t)
	beat(t, s, 4, "a", "b", "c")
	owner := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("c%d", i)
			p, err := s.PlaceEscrow(context.Background(), store.PlaceRequest{EscrowID: id, TTL: time.Minute, Live: time.Minute})
			assert.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			for _, x := range p {
				assert.Empty(t, owner[x.Instance], "%s leased twice", x.Instance)
				owner[x.Instance] = id
			}
		}()
	}
	wg.Wait()
	// SKIP LOCKED may turn a setup away while another holds the rows it would take; it then
	// waits like any refused setup. What may never happen is an instance with two owners.
	assert.NotEmpty(t, owner)
	assert.Zero(t, len(owner)%3, "whole setups only: %v", owner)
}
