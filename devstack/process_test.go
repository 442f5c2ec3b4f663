package devstack

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTemporalBinaryMissingSaysHowToGetIt(t *testing.T) {
	t.Setenv(EnvTemporalBin, filepath.Join(t.TempDir(), "no-such-temporal"))
	_, err := TemporalBinary()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "run `make tools` (builds it with go install github.com/temporalio/cli/cmd/temporal@v1.5.1 into ~/.cache/xmr-escrow/bin)")

	_, err = StartTemporal(t.Context(), TemporalOptions{Dir: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "make tools")
}

func TestMoneroBinaryMissingSaysHowToGetIt(t *testing.T) {
	t.Setenv(EnvWalletRPCBin, filepath.Join(t.TempDir(), "nope"))
	t.Setenv(EnvMonerodBin, filepath.Join(t.TempDir(), "nope"))
	for _, find := range []func() (string, error){WalletRPCBinary, MonerodBinary} {
		_, err := find()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "install it with `apt-get install -y monero` (make test does this)")
	}
}

func TestBinariesPresent(t *testing.T) {
	skipShort(t)
	// Never skip on a missing binary: the error tells how to install it.
	for name, find := range map[string]func() (string, error){
		"temporal": TemporalBinary, "monero-wallet-rpc": WalletRPCBinary, "monerod": MonerodBinary,
	} {
		p, err := find()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %s", name, p)
	}
}

func TestProcessStopKillsGroupAfterGrace(t *testing.T) {
	t.Parallel()
	// sh ignores SIGTERM and so does its child sleep (ignored signals are
	// inherited), so only the group SIGKILL can end them.
	log := filepath.Join(t.TempDir(), "sh.log")
	p, err := StartProcess(t.Context(), "stubborn", "/bin/sh",
		[]string{"-c", `trap "" TERM; sleep 1000 & echo started; wait`}, log)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(groupPIDs(p.Pid())) >= 2 }, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return strings.Contains(p.LogTail(100), "started") }, 10*time.Second, 20*time.Millisecond)

	start := time.Now()
	err = p.Stop(300 * time.Millisecond)
	require.Error(t, err, "Stop must report that it had to kill")
	assert.Contains(t, err.Error(), "killed")
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
	assertClosed(t, p.Done())
	assert.Error(t, p.ExitErr())
	// The killed grandchild is reparented and reaped by init, not by us.
	assert.Eventually(t, func() bool { return len(groupPIDs(p.Pid())) == 0 }, 10*time.Second, 20*time.Millisecond,
		"grandchild must die with the group: %v", describePIDs(groupPIDs(p.Pid())))
	assert.Equal(t, err, p.Stop(time.Second), "Stop is idempotent")
	assertGone(t, p.Pid())
}

func TestProcessStopGraceful(t *testing.T) {
	t.Parallel()
	p, err := StartProcess(t.Context(), "sleeper", "/bin/sleep", []string{"1000"}, filepath.Join(t.TempDir(), "s.log"))
	require.NoError(t, err)
	assert.Nil(t, p.ExitErr(), "running process has no exit error")
	require.NoError(t, p.Stop(10*time.Second))
	require.NoError(t, p.Stop(10*time.Second))
	require.NoError(t, p.Kill(), "Kill after exit is a no-op")
	assertGone(t, p.Pid())
}

// TestChildDiesWithParent SIGKILLs a helper process (this test binary
// re-executed) that started a child through StartProcess: Pdeathsig must
// take the child down although nobody called Stop.
func TestChildDiesWithParent(t *testing.T) {
	if os.Getenv("DEVSTACK_HELPER") == "1" {
		p, err := StartProcess(context.Background(), "orphan-candidate", "/bin/sleep", []string{"1000"}, filepath.Join(os.TempDir(), "devstack-helper.log"))
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		fmt.Println("PID", p.Pid())
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildDiesWithParent$")
	cmd.Env = append(os.Environ(), "DEVSTACK_HELPER=1")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var pid int
	_, err = fmt.Fscanf(out, "PID %d\n", &pid)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper did not report a pid: %v", err)
	}
	require.NoError(t, syscall.Kill(pid, 0), "child runs while its parent lives")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	assert.Eventually(t, func() bool { _, _, alive := procStat(pid); return !alive }, 10*time.Second, 20*time.Millisecond,
		"child %d outlived its parent", pid)
}

func assertClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("Done() not closed")
	}
}

// assertGone checks that signal 0 to pid fails: the process no longer exists.
func assertGone(t *testing.T, pid int) {
	t.Helper()
	err := syscall.Kill(pid, 0)
	assert.ErrorIs(t, err, syscall.ESRCH, "pid %d still exists", pid)
}

func assertListening(t *testing.T, port int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
	if assert.NoError(t, err, "port %d should listen", port) {
		c.Close()
	}
}

func assertNotListening(t *testing.T, port int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
	if err == nil {
		c.Close()
	}
	assert.Error(t, err, "port %d still listens", port)
}

// procStat returns (ppid, pgid) of pid from /proc/PID/stat; ok is false for
// a process that is gone or already dead (a zombie).
func procStat(pid int) (ppid, pgid int, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// The command name may hold spaces; fields resume after the last ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	pgid, _ = strconv.Atoi(f[2])
	return ppid, pgid, true
}

func allPIDs() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// childPIDs lists processes whose parent is parent.
func childPIDs(parent int) []int {
	var kids []int
	for _, pid := range allPIDs() {
		if ppid, _, ok := procStat(pid); ok && ppid == parent {
			kids = append(kids, pid)
		}
	}
	return kids
}

// groupPIDs lists processes in process group pgid.
func groupPIDs(pgid int) []int {
	var pids []int
	for _, pid := range allPIDs() {
		if _, g, ok := procStat(pid); ok && g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}

func describePIDs(pids []int) []string {
	var out []string
	for _, pid := range pids {
		cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		out = append(out, fmt.Sprintf("%d %s", pid, strings.ReplaceAll(string(cmd), "\x00", " ")))
	}
	return out
}
