package integration

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/starter"
)

func TestOneEscrowEndsReadyWithTheSameAddressInAllThreeWallets(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	started := time.Now()
	// A short purge delay, but a real durable timer between rounds.
	run, err := s.Starter.Start(ctx, input("one", 500*time.Millisecond))
	require.NoError(t, err)
	require.False(t, run.Existing)
	res, err := s.Starter.WaitReady(ctx, "one")
	require.NoError(t, err)
	t.Logf("one setup: %.1fs wall, %d open_wallet calls", time.Since(started).Seconds(), res.WalletOpens)

	require.Len(t, res.Address, escrow.AddressLength)
	assert.Zero(t, res.WalletOpens, "with one escrow on three instances every wallet stays open from create to ready")
	st, err := s.Starter.Status(ctx, "one")
	require.NoError(t, err)
	assert.Equal(t, escrow.PhaseReady, st.Phase)
	assert.Equal(t, res.Address, st.Address)

	seen := map[string]bool{}
	for _, role := range escrow.Roles {
		inst := res.Assignment.For(role)
		assert.False(t, seen[inst], "each role on its own instance")
		seen[inst] = true
		ms := inspectWallet(t, s, inst, "one", role)
		assert.True(t, ms.Multisig, role)
		assert.True(t, ms.Ready, role)
		assert.Equal(t, 2, ms.Threshold, role)
		assert.Equal(t, 3, ms.Total, role)
		assert.Equal(t, res.Address, ms.Address, role)
	}
	// One wallet per role, and no snapshot or temporary file left behind.
	want := []string{}
	for _, role := range escrow.Roles {
		name := escrow.WalletName("one", role)
		want = append(want, res.Assignment.For(role)+"/"+name, res.Assignment.For(role)+"/"+name+".keys")
	}
	assert.ElementsMatch(t, want, walletFiles(t, s, "one"))
}

func TestThreeEscrowsStartedAtOnceAllEndReady(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ids := []string{"a", "b", "c"}
	started := time.Now()
	var wg sync.WaitGroup
	results := make([]escrow.State, len(ids))
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Starter.Start(ctx, input(id, 0)); err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = s.Starter.WaitReady(ctx, id)
		}()
	}
	wg.Wait()
	opens := 0
	addrs := map[string]bool{}
	for i, id := range ids {
		require.NoError(t, errs[i], id)
		require.Len(t, results[i].Address, escrow.AddressLength, id)
		addrs[results[i].Address] = true
		opens += results[i].WalletOpens
	}
	assert.Len(t, addrs, 3, "three escrows, three different addresses")
	// The first escrows to be Ready poll for funding (failing: no daemon) on instances the
	// later setups hold; they stand back instead of closing those setups' wallets.
	assert.Zero(t, opens, "no setup was pushed off its instance by another escrow's funding poll")
	t.Logf("three concurrent setups: %.1fs wall, %d open_wallet calls in all (%.1f per escrow); per instance %+v",
		time.Since(started).Seconds(), opens, float64(opens)/3, s.Worker.Stats())
	for _, id := range ids {
		assert.Len(t, walletFiles(t, s, id), 6, "%s: three wallets of two files, nothing else", id)
	}
}

func TestStartingOneEscrowTwiceAtOnceMakesOneRun(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const n = 4
	runs := make([]starter.Run, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i], errs[i] = s.Starter.Start(ctx, input("twice", 0))
		}()
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, runs[0].RunID, runs[i].RunID, "every start names the same run")
		if !runs[i].Existing {
			fresh++
		}
	}
	assert.Equal(t, 1, fresh, "exactly one start created the run")
	_, err := s.Starter.WaitReady(ctx, "twice")
	require.NoError(t, err)
	// Starting it again later starts nothing either.
	again, err := s.Starter.Start(ctx, input("twice", time.Second))
	require.NoError(t, err)
	assert.True(t, again.Existing)
	assert.Equal(t, runs[0].RunID, again.RunID)
	assert.Len(t, walletFiles(t, s, "twice"), 6, "one set of wallets")
}

func TestUnknownAndInvalidEscrowIDsGetClearErrors(t *testing.T) {
	s := startStack(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := s.Starter.Status(ctx, "never-started")
	assert.True(t, errors.Is(err, starter.ErrUnknownEscrow), "got %v", err)
	_, err = s.Starter.Wait(ctx, "never-started")
	assert.True(t, errors.Is(err, starter.ErrUnknownEscrow), "got %v", err)
	_, err = s.Starter.Start(ctx, input("../../etc", 0))
	assert.True(t, errors.Is(err, escrow.ErrInvalidID), "got %v", err)
	_, err = s.Starter.Start(ctx, input("neg", -time.Second))
	assert.True(t, errors.Is(err, escrow.ErrInvalidInput), "got %v", err)
	noAmount := input("neg", 0)
	noAmount.AmountAtomic = 0
	_, err = s.Starter.Start(ctx, noAmount)
	assert.True(t, errors.Is(err, escrow.ErrInvalidInput), "got %v", err)
	_, err = s.Starter.Get(ctx, "never-started")
	assert.True(t, errors.Is(err, starter.ErrUnknownEscrow), "got %v", err)
	_, err = s.Starter.Status(ctx, "neg")
	assert.True(t, errors.Is(err, starter.ErrUnknownEscrow), fmt.Sprintf("a rejected start leaves nothing behind, got %v", err))
}

// TestCancelBeforeFundingEndsTheEscrow cancels a ready escrow nobody has paid: the run ends
// cancelled, and a second decision is refused.
func TestCancelBeforeFundingEndsTheEscrow(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := s.Starter.Start(ctx, input("called-off", 0))
	require.NoError(t, err)
	_, err = s.Starter.WaitReady(ctx, "called-off")
	require.NoError(t, err)
	_, err = s.Starter.Decide(ctx, "called-off", escrow.UpdateMarkShipped, escrow.DecisionInput{Role: escrow.Vendor, ActorID: "vendor-8"})
	assert.ErrorContains(t, err, "not while the escrow is awaiting_funding")
	st, err := s.Starter.Decide(ctx, "called-off", escrow.UpdateCancel, escrow.DecisionInput{Role: escrow.Buyer, ActorID: "buyer-7"})
	require.NoError(t, err)
	assert.Equal(t, escrow.StatusCancelled, st.Status)
	res, err := s.Starter.Wait(ctx, "called-off")
	require.NoError(t, err)
	assert.Equal(t, escrow.StatusCancelled, res.Status)
	saveHistory(t, s, "called-off", "cancelled")
}
