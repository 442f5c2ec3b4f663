package integration

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/worker"
)

// TestTwoHostsSetUpNineEscrowsAtOnceEachOnItsOwnWallets runs two worker processes as two
// hosts, each with its own disk and default flags (--spawn-wallet-rpcs 3). Nine escrows
// started at once all end Ready, each with key shares on both hosts (so one lost disk never
// takes all three), releases wake waiting setups, and every role's wallet is where its
// assignment says, on that host's disk alone, ready at the escrow's address. A third worker
// pointed at one of the first host's instances is refused.
// BenchmarkNineSetupsOnOneHostAndOnTwo measures the throughput.
func TestTwoHostsSetUpNineEscrowsAtOnceEachOnItsOwnWallets(t *testing.T) {
	s, ctx, bin := processStack(t, 15*time.Minute)
	root := t.TempDir()
	a := startHost(t, ctx, s, bin, "host-a", filepath.Join(root, "host-a"))
	b := startHost(t, ctx, s, bin, "host-b", filepath.Join(root, "host-b"))
	for _, n := range b.instances() {
		assert.NotContains(t, a.served, n, "two hosts with default flags never share a queue name")
	}
	began := time.Now()
	states := awaitReady(t, ctx, s, startBatch(t, ctx, s, "two", 9))
	took := time.Since(began)
	shares, woken := map[string]int{}, 0
	for _, st := range states {
		assert.True(t, a.touches(st.Assignment) && b.touches(st.Assignment), "%s: key shares on both hosts: %+v", st.EscrowID, st.Assignment)
		assert.Len(t, map[string]bool{st.Assignment.Buyer: true, st.Assignment.Vendor: true, st.Assignment.Arbiter: true}, 3, "%s: three roles on three instances", st.EscrowID)
		for _, r := range escrow.Roles {
			h := a
			if b.touches(escrow.Assignment{Buyer: st.Assignment.For(r)}) {
				h = b
			}
			require.NotNil(t, st.Assignment.Hosts, "%s: the assignment says where each role lives", st.EscrowID)
			assert.Equal(t, filepath.Base(h.dir), st.Assignment.Hosts.For(r), "%s %s", st.EscrowID, r)
			shares[h.name]++
		}
		if signaled(t, s, st.EscrowID, escrow.SignalCapacityFreed) {
			if woken++; woken == 1 {
				saveHistory(t, s, st.EscrowID, "capacity-wake")
			}
		}
	}
	// Nine setups on room for two: a release on either host wakes a waiting setup.
	assert.Positive(t, woken, "setups waiting for capacity were woken by releases")
	// Three roles on two hosts: every escrow has two shares on one of them, and the
	// metric says so.
	sharing, err := s.Store.CountEscrowsSharingAHost(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 9, sharing, "with two hosts every escrow has two roles on one")

	// A third worker configured with one of host-a's instances is refused, naming host-a.
	some := a.instances()[0]
	third := worker.Instance{Name: some, URL: "http://127.0.0.1:1", WalletDir: a.served[some]}
	out, err := exec.CommandContext(ctx, bin, workerArgs(s, third)...).CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the third worker must exit non-zero, got %v: %s", err, out)
	assert.Contains(t, string(out), fmt.Sprintf("is served by pid %d on host ", a.proc.Pid()))

	for _, h := range []*host{a, b} {
		require.NoError(t, h.proc.Stop(time.Minute), "%s stops on SIGTERM", h.name)
		assert.NoError(t, h.proc.ExitErr(), "%s exits cleanly", h.name)
	}
	checkWalletsOnDisk(t, ctx, states, a, b)
	t.Logf("nine escrows on two hosts in %.1f s, key shares per host %v, %d woken by a release", took.Seconds(), shares, woken)
}

// TestAHostKilledMidSetupLosesNoEscrowAndDisturbsNoOther SIGKILLs one host (its worker and
// wallet-rpcs at once, as a power cut would) while setups with a role on it are in flight.
// Those wait for it; once its heartbeat is stale their instances on the live host serve the
// escrows not yet placed, which finish meanwhile on the live host alone, never on the dead
// host's instances. The dead host's escrows finish once it is back on the same disk, under
// the same instance names.
func TestAHostKilledMidSetupLosesNoEscrowAndDisturbsNoOther(t *testing.T) {
	s, ctx, bin := processStack(t, 15*time.Minute)
	root := t.TempDir()
	a := startHost(t, ctx, s, bin, "host-a", filepath.Join(root, "host-a"))
	b := startHost(t, ctx, s, bin, "host-b", filepath.Join(root, "host-b"))
	ids := startBatch(t, ctx, s, "k", 4)

	// Wait until a setup with a role on host-a is between its rounds' steps.
	require.Eventually(t, func() bool {
		for _, id := range ids {
			st, err := s.Starter.Status(ctx, id)
			if err == nil && a.touches(st.Assignment) && (st.Phase == escrow.PhasePreparing || st.Phase == escrow.PhaseExchanging) {
				return true
			}
		}
		return false
	}, 5*time.Minute, 100*time.Millisecond, "a setup runs on host-a")
	require.NoError(t, a.proc.Kill())
	killed := time.Now()
	// Setups placed before host-a's heartbeat went stale may hold its instances: those are
	// the ones that must wait for it. Ten seconds is the worker's liveness window.
	time.Sleep(12 * time.Second)
	var onA, others []string
	for _, id := range ids {
		st, err := s.Starter.Status(ctx, id)
		require.NoError(t, err)
		if a.touches(st.Assignment) && st.Phase != escrow.PhaseReady {
			onA = append(onA, id)
		} else {
			others = append(others, id)
		}
	}
	require.NotEmpty(t, onA)
	t.Logf("host-a killed with %v mid-setup", onA)

	// Meanwhile every other escrow ends Ready, on host-b's instances if placed after the kill.
	for _, st := range awaitReady(t, ctx, s, others) {
		if !a.touches(st.Assignment) {
			assert.True(t, b.holds(st.Assignment), "%s finished while host-a was down, on host-b alone: %+v", st.EscrowID, st.Assignment)
		}
	}
	othersDone := time.Since(killed)
	for _, id := range onA {
		st, err := s.Starter.Status(ctx, id)
		require.NoError(t, err)
		assert.NotEqual(t, escrow.PhaseReady, st.Phase, "%s needs host-a's wallets: it cannot be Ready while host-a is down", id)
		assert.True(t, a.touches(st.Assignment), "%s keeps its place on host-a", id)
	}

	before := a.instances()
	a = startHost(t, ctx, s, bin, "host-a-again", a.dir)
	assert.Equal(t, before, a.instances(), "the host comes back under the same instance names")
	back := time.Now()
	states := awaitReady(t, ctx, s, ids)
	afterReturn := time.Since(back)
	for _, h := range []*host{a, b} {
		require.NoError(t, h.proc.Stop(time.Minute), "%s stops on SIGTERM", h.name)
	}
	checkWalletsOnDisk(t, ctx, states, a, b)
	t.Logf("others Ready %.1f s after the kill; host-a's %d escrows Ready %.1f s after it came back",
		othersDone.Seconds(), len(onA), afterReturn.Seconds())
}
