package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/rpcinstance"
	"github.com/xmr-escrow/xmr-escrow/worker"
)

// TestASecondWorkerOnTheSameWalletRPCIsRefused runs two worker processes configured with
// the same wallet-rpc, as two replicas of one deployment would be. Temporal would let both
// poll the instance's queue and run two steps at once on one wallet-rpc (docs/design.md, "One
// owner per wallet-rpc"), so the second must refuse to start and name the first; so must
// one that would spawn its own wallet-rpc on the same wallet dir.
func TestASecondWorkerOnTheSameWalletRPCIsRefused(t *testing.T) {
	s := startStack(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := workerBinary(t, ctx, s) // the owner here is a worker process

	in := s.RPCs[0]
	args := workerArgs(s, in)
	first, err := devstack.StartProcess(ctx, "worker", bin, args, filepath.Join(t.TempDir(), "first.log"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = first.Stop(10 * time.Second) })
	lockFile := filepath.Join(in.WalletDir, rpcinstance.LockFileName)
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(lockFile)
		logs, _ := os.ReadFile(first.LogPath)
		return strings.Contains(string(b), fmt.Sprintf("pid=%d\n", first.Pid())) && strings.Contains(string(logs), "serving wallet-rpc")
	}, time.Minute, 50*time.Millisecond, "the first worker serves %s: %s", in.Name, first.LogTail(20))

	refused := func(name string, args []string) {
		t.Helper()
		started := time.Now()
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit), "%s: the second worker must exit non-zero, got %v: %s", name, err, out)
		assert.NotZero(t, exit.ExitCode(), name)
		want := fmt.Sprintf("is served by pid %d on host ", first.Pid())
		assert.Contains(t, string(out), want, name)
		assert.Contains(t, string(out), "one wallet-rpc has exactly one owner (docs/design.md)", name)
		t.Logf("%s refused in %.2fs: %s", name, time.Since(started).Seconds(), strings.TrimSpace(string(out)))
	}
	refused("a second worker on the same instance", args)
	// The same wallet-rpc under another name and URL spelling is still the same wallet dir.
	alias := worker.Instance{Name: "other", URL: strings.Replace(in.URL, "127.0.0.1", "localhost", 1) + "/json_rpc", WalletDir: in.WalletDir + "/."}
	refused("a second worker naming it otherwise", workerArgs(s, alias))
	// A worker that would spawn its own wallet-rpc on that dir is refused before spawning it.
	refused("a second worker spawning a wallet-rpc on the same dir", append(workerArgs(s),
		"--spawn-wallet-rpcs", "1", "--spawn-dir", filepath.Dir(in.WalletDir), "--spawn-base-port", "0"))

	assert.False(t, first.Exited(), "the first worker keeps serving: %s", first.LogTail(20))
	b, err := os.ReadFile(lockFile)
	require.NoError(t, err)
	assert.Contains(t, string(b), fmt.Sprintf("pid=%d\n", first.Pid()), "the refused workers left the owner's record alone")
	err = s.StartWorker()
	assert.ErrorContains(t, err, fmt.Sprintf("is served by pid %d", first.Pid()), "an in-process worker is refused too")

	// Once the owner stops, the next worker takes over.
	require.NoError(t, first.Stop(10*time.Second))
	require.NoError(t, s.StartWorker(), "after the owner stops, the instance is free")
}
