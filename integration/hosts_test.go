package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/localstack"
)

// host is a worker process standing for one machine: it spawns and supervises its own
// wallet-rpc pool (--spawn-wallet-rpcs 3) in its own folder, with default naming, as each
// host of a deployment would.
type host struct {
	name string
	dir  string // --spawn-dir: the host's disk
	proc *devstack.Process
	// served maps each instance it serves to its wallet dir, as its log announced them.
	served map[string]string
	// want is how many instances it spawns (--spawn-wallet-rpcs, 3 unless told).
	want int
}

// processStack is a stack whose worker runs as processes (hosts): its Temporal, database and
// an idle in-process pool, the worker binary, and a deadline for the whole test.
func processStack(t testing.TB, timeout time.Duration) (*localstack.Stack, context.Context, string) {
	t.Helper()
	s := startStack(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return s, ctx, workerBinary(t, ctx, s)
}

// hostArgs are the flags of a host's worker over the stack's Temporal and database. The
// host is named for its disk (the dir's base name), so a restart on the same dir, or a
// rolling deploy, is the same host to placement.
func hostArgs(s *localstack.Stack, dir string) []string {
	return append(workerArgs(s), "--spawn-wallet-rpcs", "3", "--spawn-dir", dir, "--spawn-base-port", "0", "--host-name", filepath.Base(dir))
}

// startHost starts (or restarts, on the same dir) a host's worker and waits until it serves
// its three instances.
func startHost(t testing.TB, ctx context.Context, s *localstack.Stack, bin, name, dir string, extra ...string) *host {
	t.Helper()
	h := launchHost(t, ctx, s, bin, name, dir, extra...)
	h.awaitServing(t, 2*time.Minute)
	return h
}

// launchHost starts a host's worker without waiting for it to serve.
func launchHost(t testing.TB, ctx context.Context, s *localstack.Stack, bin, name, dir string, extra ...string) *host {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	p, err := devstack.StartProcess(ctx, name, bin, append(hostArgs(s, dir), extra...), logPath)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(30 * time.Second) })
	want := 3
	for i, a := range extra[:max(len(extra)-1, 0)] {
		if a == "--spawn-wallet-rpcs" {
			want, err = strconv.Atoi(extra[i+1])
			require.NoError(t, err)
		}
	}
	return &host{name: name, dir: dir, proc: p, want: want}
}

// awaitServing waits for the host's "serving wallet-rpc" log lines, one per instance.
func (h *host) awaitServing(t testing.TB, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool {
		h.refresh()
		return len(h.served) >= h.want || h.proc.Exited()
	}, within, 100*time.Millisecond)
	// More than want when an earlier run on this dir grew the pool: those dirs are served too.
	require.GreaterOrEqual(t, len(h.served), h.want, "%s serves its %d instances: %s", h.name, h.want, h.proc.LogTail(3000))
}

// refresh re-reads the instances the host serves from its log: a pool grows while setups
// wait, and a grown instance is announced like the first ones.
func (h *host) refresh() {
	h.served = logLines(h.proc.LogPath, "serving wallet-rpc", func(l map[string]any) (string, string) {
		return fmt.Sprint(l["instance"]), fmt.Sprint(l["wallet_dir"])
	})
}

// instances lists the names the host serves, sorted.
func (h *host) instances() []string {
	h.refresh()
	out := make([]string, 0, len(h.served))
	for n := range h.served {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// holds reports whether every role of a is on this host.
func (h *host) holds(a escrow.Assignment) bool {
	h.refresh()
	_, b := h.served[a.Buyer]
	_, v := h.served[a.Vendor]
	_, r := h.served[a.Arbiter]
	return b && v && r
}

// touches reports whether any role of a is on this host.
func (h *host) touches(a escrow.Assignment) bool {
	h.refresh()
	_, b := h.served[a.Buyer]
	_, v := h.served[a.Vendor]
	_, r := h.served[a.Arbiter]
	return b || v || r
}

// logLines collects key → value from the JSON log lines whose message is msg.
func logLines(path, msg string, kv func(map[string]any) (string, string)) map[string]string {
	out := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) == nil && l["msg"] == msg {
			k, v := kv(l)
			out[k] = v
		}
	}
	return out
}

// setupInput is an escrow that polls for funding only after an hour, so a batch measures
// setups alone (funding polls on an offline pool are issue 13's concern).
func setupInput(id string) escrow.EscrowInput {
	in := input(id, 0)
	in.Timing.FundingPoll = time.Hour
	return in
}

// startBatch starts n escrows prefix-1…n at once, each input passed through the edits.
func startBatch(t testing.TB, ctx context.Context, s *localstack.Stack, prefix string, n int, edits ...func(*escrow.EscrowInput)) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", prefix, i+1)
		in := setupInput(ids[i])
		for _, edit := range edits {
			edit(&in)
		}
		_, err := s.Starter.Start(ctx, in)
		require.NoError(t, err)
	}
	return ids
}

// awaitReady waits until every escrow is Ready (failing on a failed setup) and returns their
// states in ids' order.
func awaitReady(t testing.TB, ctx context.Context, s *localstack.Stack, ids []string) []escrow.State {
	t.Helper()
	out := make([]escrow.State, len(ids))
	for i, id := range ids {
		st, err := s.Starter.WaitUntil(ctx, id, time.Second, func(st escrow.State) bool {
			return st.Phase == escrow.PhaseReady || st.Phase == escrow.PhaseFailed
		})
		require.NoError(t, err, "escrow %s", id)
		require.Equal(t, escrow.PhaseReady, st.Phase, "escrow %s: %s", id, st.Reason)
		out[i] = st
	}
	return out
}

// checkWalletsOnDisk opens every role's wallet of each escrow over a wallet-rpc of its own on
// the wallet dir of the instance its assignment names, once the hosts have stopped: each is
// a ready 2-of-3 multisig wallet at the escrow's address, and no other dir holds it.
func checkWalletsOnDisk(t *testing.T, ctx context.Context, states []escrow.State, hosts ...*host) {
	t.Helper()
	dirs := map[string]string{}
	for _, h := range hosts {
		require.True(t, h.proc.Exited(), "%s must be stopped before its wallets are read", h.name)
		h.refresh()
		for n, d := range h.served {
			dirs[n] = d
		}
	}
	byInstance := map[string][]func(url string){}
	for _, st := range states {
		for _, r := range escrow.Roles {
			instance := st.Assignment.For(r)
			require.Contains(t, dirs, instance, "escrow %s %s is on an instance no host served", st.EscrowID, r)
			byInstance[instance] = append(byInstance[instance], func(url string) {
				ms, err := walletState(url, st.EscrowID, r)
				assert.NoError(t, err, "%s %s on %s", st.EscrowID, r, instance)
				assert.True(t, ms.Multisig && ms.Ready && ms.Threshold == 2 && ms.Total == 3, "%s %s on %s: %+v", st.EscrowID, r, instance, ms)
				assert.Equal(t, st.Address, ms.Address, "%s %s on %s", st.EscrowID, r, instance)
			})
			wallet := escrow.WalletName(st.EscrowID, r) + ".keys"
			for n, d := range dirs {
				_, err := os.Stat(filepath.Join(d, wallet))
				assert.Equal(t, n == instance, err == nil, "%s is on %s and only there (checked %s)", wallet, instance, n)
			}
		}
	}
	var wg sync.WaitGroup
	for instance, checks := range byInstance {
		r, err := devstack.StartWalletRPC(ctx, devstack.WalletRPCOptions{Name: "check-" + instance, Dir: dirs[instance], Offline: true, LogDir: t.TempDir()})
		require.NoError(t, err)
		wg.Go(func() {
			defer func() { _ = devstack.StopWalletRPCs([]*devstack.WalletRPC{r}) }()
			for _, check := range checks {
				check(r.URL)
			}
		})
	}
	wg.Wait()
}

// perMinute is a batch's throughput.
func perMinute(n int, d time.Duration) float64 { return float64(n) / d.Minutes() }

// hasLine reports whether the process log contains s.
func hasLine(p *devstack.Process, s string) bool {
	b, _ := os.ReadFile(p.LogPath)
	return strings.Contains(string(b), s)
}
