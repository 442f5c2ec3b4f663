package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// TestAnInstanceInAnotherSetupIsBusyForEveryoneButThatSetup: a finished escrow's step learns
// which setup holds the instance; the holder's own steps, and free instances, are not busy.
func TestAnInstanceInAnotherSetupIsBusyForEveryoneButThatSetup(t *testing.T) {
	s, _ := openStore(t)
	beat(t, s, 3, "a")
	p := place(t, s, "setup")
	require.Len(t, p, 3)
	holder, err := s.YieldInstance(testCtx(t), p[0].Instance, "finished", false)
	require.NoError(t, err)
	assert.Equal(t, "setup", holder)
	holder, err = s.YieldInstance(testCtx(t), p[0].Instance, "setup", false)
	require.NoError(t, err)
	assert.Empty(t, holder, "a setup never stands back from itself")

	ok, err := s.ReturnLease(testCtx(t), p[0].Instance, "setup")
	require.NoError(t, err)
	require.True(t, ok)
	holder, err = s.YieldInstance(testCtx(t), p[0].Instance, "finished", false)
	require.NoError(t, err)
	assert.Empty(t, holder, "a released instance is free")
}

// TestAnInstanceAPayoutWaitsForTakesNoNewSetup: a payout step that stood back marks the
// instance wanted, so when the setup ends no new setup takes it before the step's next
// attempt; once the step runs, the mark is gone and setups may take it again.
func TestAnInstanceAPayoutWaitsForTakesNoNewSetup(t *testing.T) {
	s, _ := openStore(t)
	beat(t, s, 3, "a")
	p := place(t, s, "setup")
	require.Len(t, p, 3)
	holder, err := s.YieldInstance(testCtx(t), p[1].Instance, "payout", true)
	require.NoError(t, err)
	require.Equal(t, "setup", holder)
	for _, x := range p {
		_, err := s.ReturnLease(testCtx(t), x.Instance, "setup")
		require.NoError(t, err)
	}
	assert.Nil(t, place(t, s, "next"), "two of three instances are free: the wanted one is kept for the payout")

	holder, err = s.YieldInstance(testCtx(t), p[1].Instance, "payout", true)
	require.NoError(t, err)
	assert.Empty(t, holder, "the payout step goes ahead")
	assert.Len(t, place(t, s, "next"), 3, "the mark is cleared when the step runs")
}

// TestAPollLeavesNoMark: a funding check stands back without a mark: it is repeated on a
// timer anyway, and must not keep instances from setups.
func TestAPollLeavesNoMark(t *testing.T) {
	s, _ := openStore(t)
	beat(t, s, 3, "a")
	p := place(t, s, "setup")
	holder, err := s.YieldInstance(testCtx(t), p[2].Instance, "awaiting", false)
	require.NoError(t, err)
	require.Equal(t, "setup", holder)
	for _, x := range p {
		_, err := s.ReturnLease(testCtx(t), x.Instance, "setup")
		require.NoError(t, err)
	}
	assert.Len(t, place(t, s, "next"), 3)
}

// TestThePoolGaugesCountLiveLeasedAndWantedInstances backs xmr_escrow_wallet_instances.
func TestThePoolGaugesCountLiveLeasedAndWantedInstances(t *testing.T) {
	s, _ := openStore(t)
	beat(t, s, 4, "a")
	p := place(t, s, "setup")
	_, err := s.YieldInstance(testCtx(t), p[0].Instance, "payout", true)
	require.NoError(t, err)
	c, err := s.CountInstances(testCtx(t), time.Minute)
	require.NoError(t, err)
	assert.Equal(t, store.InstanceCounts{Live: 4, Leased: 3, Wanted: 1}, c)
}
