package rpcinstance

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTwoOwnersOfOneWalletDirConflictInOneProcess(t *testing.T) {
	dir := t.TempDir()
	first := NewOwnership(nil)
	require.NoError(t, first.Acquire(dir))
	defer first.Release()
	require.NoError(t, first.Acquire(dir), "an Ownership may be asked again for a dir it holds")

	// A second open file description conflicts even in this process: that is how a second
	// worker in another process is refused too.
	err := NewOwnership(nil).Acquire(dir)
	var owned *OwnedError
	require.ErrorAs(t, err, &owned)
	host, _ := os.Hostname()
	assert.Equal(t, os.Getpid(), owned.Holder.PID)
	assert.Equal(t, host, owned.Holder.Host)
	assert.WithinDuration(t, time.Now(), owned.Holder.Since, time.Minute)
	assert.Contains(t, err.Error(), fmt.Sprintf("wallet dir %s is served by pid %d on host %s since ", CanonicalDir(dir), os.Getpid(), host))
	assert.True(t, strings.HasSuffix(err.Error(), "; one wallet-rpc has exactly one owner (docs/design.md)"), err.Error())

	link := filepath.Join(t.TempDir(), "alias")
	require.NoError(t, os.Symlink(dir, link))
	assert.ErrorAs(t, NewOwnership(nil).Acquire(link), &owned, "the same dir under another name")
}

func TestReleasedWalletDirCanBeTakenOver(t *testing.T) {
	dir := t.TempDir()
	first := NewOwnership(nil)
	require.NoError(t, first.Acquire(dir))
	b, err := os.ReadFile(filepath.Join(dir, LockFileName))
	require.NoError(t, err)
	assert.Contains(t, string(b), fmt.Sprintf("pid=%d\n", os.Getpid()))
	first.Release()
	first.Release() // twice is harmless
	assert.False(t, first.Holds(dir))
	b, err = os.ReadFile(filepath.Join(dir, LockFileName))
	require.NoError(t, err)
	assert.Empty(t, b, "a released lock file names nobody")

	next := NewOwnership(nil)
	require.NoError(t, next.Acquire(dir))
	next.Release()
}

func TestAcquireAllTakesEveryDirOrNone(t *testing.T) {
	free, taken := t.TempDir(), t.TempDir()
	holder := NewOwnership(nil)
	require.NoError(t, holder.Acquire(taken))
	defer holder.Release()

	o := NewOwnership(nil)
	require.Error(t, o.AcquireAll([]string{free, taken}))
	assert.False(t, o.Holds(free), "a refused worker keeps no lock")
	other := NewOwnership(nil)
	require.NoError(t, other.Acquire(free))
	other.Release()

	err := NewOwnership(nil).Acquire(filepath.Join(free, "missing"))
	assert.ErrorContains(t, err, "it must exist")
}

// TestAnotherProcessIsRefusedUntilTheOwnerIsKilled runs the owner as a real process and
// kills it with SIGKILL: the kernel drops its flock, so a restarted worker needs no clean-up.
func TestAnotherProcessIsRefusedUntilTheOwnerIsKilled(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperOwnerProcess$")
	cmd.Env = append(os.Environ(), "XMR_ESCROW_TEST_OWN_DIR="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "held\n", line)

	err = NewOwnership(nil).Acquire(dir)
	var owned *OwnedError
	require.ErrorAs(t, err, &owned)
	assert.Equal(t, cmd.Process.Pid, owned.Holder.PID)
	assert.Contains(t, err.Error(), fmt.Sprintf("served by pid %d on host ", cmd.Process.Pid))

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	o := NewOwnership(nil)
	require.NoError(t, o.Acquire(dir), "a SIGKILLed owner's lock is gone")
	o.Release()
}

// TestHelperOwnerProcess is the owner process of the test above, not a test of its own.
func TestHelperOwnerProcess(t *testing.T) {
	dir := os.Getenv("XMR_ESCROW_TEST_OWN_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	if err := NewOwnership(nil).Acquire(dir); err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	fmt.Println("held")
	time.Sleep(time.Minute)
	os.Exit(0)
}

func TestCanonicalDir(t *testing.T) {
	assert.Equal(t, CanonicalDir("/nonexistent/w/1"), CanonicalDir("/nonexistent/w/./x/../1/"))
}
