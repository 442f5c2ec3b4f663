package integration

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/starter"
)

// TestANewEscrowThatWouldRunPastTheForkIsRefusedBeforeItsSetup: the worker is told the next
// hard fork is 100 blocks away (about 3 hours); a new escrow, which could run three weeks, is
// refused before any wallet is made, with the fork's height in the reason.
func TestANewEscrowThatWouldRunPastTheForkIsRefusedBeforeItsSetup(t *testing.T) {
	c := regtest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h, err := c.Height(ctx)
	require.NoError(t, err)
	s := startStackWith(t, stackOptions{rpcs: 3, chain: c, nextFork: h + 100})
	_, err = s.Starter.Start(ctx, input("past-the-fork", 0))
	require.NoError(t, err)
	st, err := s.Starter.WaitReady(ctx, "past-the-fork")
	require.ErrorIs(t, err, starter.ErrSetupFailed)
	assert.Equal(t, escrow.PhaseFailed, st.Phase)
	assert.Contains(t, st.Reason, "next hard fork at height")
	assert.Empty(t, walletFiles(t, s, "past-the-fork"), "no wallet was made for it")
}

// TestRunningEscrowsAreFlaggedWhenTheForkIsAnnounced: an operator announces the fork's height
// to every running escrow; one that may still hold money then flags itself, and the Web UI's
// query `EscrowForkRisk = true` lists it.
func TestRunningEscrowsAreFlaggedWhenTheForkIsAnnounced(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	in := input("announced", 0)
	in.Timing.FundingDeadline = 24 * time.Hour
	_, err := s.Starter.Start(ctx, in)
	require.NoError(t, err)
	_, err = s.Starter.WaitReady(ctx, "announced")
	require.NoError(t, err)
	rep, err := s.Starter.ForkOutlook(ctx, escrow.ForkOutlook{Height: 1_000_000, NextForkHeight: 1_000_000 + 7*720, At: time.Now()})
	require.NoError(t, err)
	assert.Contains(t, rep.Flagged, "announced", "%+v", rep)
	st, err := s.Starter.Status(ctx, "announced")
	require.NoError(t, err)
	require.NotNil(t, st.ForkRisk)
	assert.Equal(t, uint64(1_000_000+7*720), st.ForkRisk.ForkHeight)
	for { // visibility is eventually consistent
		runs, err := s.Starter.ListAtForkRisk(ctx)
		if err == nil && len(runs) > 0 {
			assert.Equal(t, escrow.WorkflowID("announced"), runs[0].WorkflowID)
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("EscrowForkRisk = true never listed the escrow: %v", errors.Join(ctx.Err(), err))
		case <-time.After(500 * time.Millisecond):
		}
	}
}
