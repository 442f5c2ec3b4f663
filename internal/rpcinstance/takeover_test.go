package rpcinstance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestANewVersionTakesOverTheMomentTheOldReleases: on a rolling deploy the new worker waits
// for the old one's lock instead of refusing, and holds the dir right after it is released.
func TestANewVersionTakesOverTheMomentTheOldReleases(t *testing.T) {
	dir := t.TempDir()
	old := NewOwnership(nil)
	require.NoError(t, old.Acquire(dir))
	released := make(chan time.Time, 1)
	go func() {
		time.Sleep(400 * time.Millisecond)
		old.Release()
		released <- time.Now()
	}()
	next := NewOwnership(nil)
	defer next.Release()
	tries := 0
	err := AwaitOwnership(context.Background(), time.Minute, nil, func() error { tries++; return next.AcquireAll([]string{dir}) })
	require.NoError(t, err)
	took := time.Now()
	assert.True(t, next.Holds(dir))
	assert.Greater(t, tries, 1, "the first try met the old owner's lock")
	assert.Less(t, took.Sub(<-released), 2*takeoverPoll, "taken within one poll of the release")
}

// TestAReplicaIsStillRefusedAtOnceAndAWaitEnds: without a wait a held dir is refused on the
// first try (replicas must not queue up behind an owner), a wait that runs out returns the
// refusal naming the holder, and errors other than ownership are not retried.
func TestAReplicaIsStillRefusedAtOnceAndAWaitEnds(t *testing.T) {
	dir := t.TempDir()
	owner := NewOwnership(nil)
	require.NoError(t, owner.Acquire(dir))
	defer owner.Release()

	var owned *OwnedError
	tries := 0
	err := AwaitOwnership(context.Background(), 0, nil, func() error { tries++; return NewOwnership(nil).AcquireAll([]string{dir}) })
	require.ErrorAs(t, err, &owned)
	assert.Equal(t, 1, tries)

	started := time.Now()
	err = AwaitOwnership(context.Background(), 600*time.Millisecond, nil, func() error { return NewOwnership(nil).AcquireAll([]string{dir}) })
	require.ErrorAs(t, err, &owned, "the wait ran out: the refusal names the holder")
	assert.GreaterOrEqual(t, time.Since(started), 600*time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = AwaitOwnership(ctx, time.Minute, nil, func() error { return NewOwnership(nil).AcquireAll([]string{dir}) })
	require.ErrorAs(t, err, &owned, "a cancelled wait (SIGTERM while waiting) ends with the refusal")

	other := errors.New("bad config")
	tries = 0
	err = AwaitOwnership(context.Background(), time.Minute, nil, func() error { tries++; return other })
	assert.ErrorIs(t, err, other)
	assert.Equal(t, 1, tries, "only a held dir is waited for")
}
