package walletproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/walletproc/proctest"
)

// TestMain fails the run if any test left a child process behind.
func TestMain(m *testing.M) { proctest.Main(m) }

func TestBinaryMissingSaysHowToGetIt(t *testing.T) {
	t.Setenv(EnvBinary, filepath.Join(t.TempDir(), "nope"))
	_, err := Binary()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "run `make tools` (scripts/tools.sh installs Debian's monero 0.18.5.3 into ~/.cache/xmr-escrow/monero-0.18.5.3/bin)")

	_, err = Start(t.Context(), Options{Name: "missing", Dir: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "make tools")
}

func TestBinaryPresent(t *testing.T) {
	proctest.SkipShort(t)
	// Never skip on a missing binary: the error tells how to install it.
	p, err := Binary()
	require.NoError(t, err)
	t.Logf("monero-wallet-rpc: %s", p)
}

func TestProcessStopKillsGroupAfterGrace(t *testing.T) {
	t.Parallel()
	// sh ignores SIGTERM and so does its child sleep (ignored signals are
	// inherited), so only the group SIGKILL can end them.
	log := filepath.Join(t.TempDir(), "sh.log")
	p, err := StartProcess(t.Context(), "stubborn", "/bin/sh",
		[]string{"-c", `trap "" TERM; sleep 1000 & echo started; wait`}, log)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(proctest.GroupPIDs(p.Pid())) >= 2 }, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return strings.Contains(p.LogTail(100), "started") }, 10*time.Second, 20*time.Millisecond)

	start := time.Now()
	err = p.Stop(300 * time.Millisecond)
	require.Error(t, err, "Stop must report that it had to kill")
	assert.Contains(t, err.Error(), "killed")
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
	proctest.AssertClosed(t, p.Done())
	assert.Error(t, p.ExitErr())
	// The killed grandchild is reparented and reaped by init, not by us.
	assert.Eventually(t, func() bool { return len(proctest.GroupPIDs(p.Pid())) == 0 }, 10*time.Second, 20*time.Millisecond,
		"grandchild must die with the group: %v", proctest.DescribePIDs(proctest.GroupPIDs(p.Pid())))
	assert.Equal(t, err, p.Stop(time.Second), "Stop is idempotent")
	proctest.AssertGone(t, p.Pid())
}

func TestProcessStopGraceful(t *testing.T) {
	t.Parallel()
	p, err := StartProcess(t.Context(), "sleeper", "/bin/sleep", []string{"1000"}, filepath.Join(t.TempDir(), "s.log"))
	require.NoError(t, err)
	assert.Nil(t, p.ExitErr(), "running process has no exit error")
	require.NoError(t, p.Stop(10*time.Second))
	require.NoError(t, p.Stop(10*time.Second))
	require.NoError(t, p.Kill(), "Kill after exit is a no-op")
	proctest.AssertGone(t, p.Pid())
}

func TestProcessInDirAndLogHeader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := filepath.Join(t.TempDir(), "logs", "pwd.log") // the log dir is created
	p, err := StartProcessIn(t.Context(), "pwd", "/bin/sh", []string{"-c", "pwd"}, log, dir)
	require.NoError(t, err)
	proctest.AssertClosed(t, p.Done())
	require.NoError(t, p.ExitErr())
	tail := p.LogTail(1000)
	assert.Contains(t, tail, "=== walletproc ")
	assert.Contains(t, tail, dir+"\n", "runs in its dir")
}

func TestMoneroStartErrorMarksALostPortRace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	moneroLog := filepath.Join(dir, "monero.log")
	require.NoError(t, os.WriteFile(moneroLog, []byte("a\tstacktrace\tframe\nError: Failed to bind IPv4: Address already in use\n"), 0o600))
	p, err := StartProcess(t.Context(), "echo", "/bin/echo", []string{"console says hi"}, filepath.Join(dir, "console.out"))
	require.NoError(t, err)
	proctest.AssertClosed(t, p.Done())

	err = MoneroStartError("start thing", p, moneroLog, context.DeadlineExceeded)
	assert.ErrorIs(t, err, ErrPortTaken)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "console says hi")
	assert.Contains(t, err.Error(), "Failed to bind")
	assert.NotContains(t, err.Error(), "stacktrace")

	require.NoError(t, os.WriteFile(moneroLog, []byte("Error: wallet file is corrupt\n"), 0o600))
	assert.NotErrorIs(t, MoneroStartError("start thing", p, moneroLog, context.DeadlineExceeded), ErrPortTaken)
}

// TestChildDiesWithParent SIGKILLs a helper process (this test binary
// re-executed) that started a child through StartProcess: Pdeathsig must
// take the child down although nobody called Stop.
func TestChildDiesWithParent(t *testing.T) {
	if os.Getenv("WALLETPROC_HELPER") == "1" {
		p, err := StartProcess(context.Background(), "orphan-candidate", "/bin/sleep", []string{"1000"}, filepath.Join(os.TempDir(), "walletproc-helper.log"))
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
	cmd.Env = append(os.Environ(), "WALLETPROC_HELPER=1")
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
	assert.Eventually(t, func() bool { _, _, alive := proctest.ProcStat(pid); return !alive }, 10*time.Second, 20*time.Millisecond,
		"child %d outlived its parent", pid)
}
