// Package proctest holds test helpers that check what walletproc promises
// about child processes: that they are gone once stopped, that whole process
// groups die, and that a test binary leaves no child behind. Only tests
// import it.
package proctest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Main runs the tests and fails the run if any test left a child process
// behind: the promise is "no orphans", and only a scan after all tests proves
// it. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if kids := ChildPIDs(os.Getpid()); len(kids) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: child processes left behind: %v\n", DescribePIDs(kids))
		code = 1
	}
	os.Exit(code)
}

// AssertClosed waits up to 10 s for ch (a Process's Done) to be closed.
func AssertClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("Done() not closed")
	}
}

// AssertGone checks that signal 0 to pid fails: the process no longer exists.
func AssertGone(t *testing.T, pid int) {
	t.Helper()
	err := syscall.Kill(pid, 0)
	assert.ErrorIs(t, err, syscall.ESRCH, "pid %d still exists", pid)
}

// AssertListening checks that 127.0.0.1:port accepts a connection.
func AssertListening(t *testing.T, port int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
	if assert.NoError(t, err, "port %d should listen", port) {
		_ = c.Close()
	}
}

// AssertNotListening checks that 127.0.0.1:port refuses connections.
func AssertNotListening(t *testing.T, port int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
	if err == nil {
		_ = c.Close()
	}
	assert.Error(t, err, "port %d still listens", port)
}

// ProcStat returns (ppid, pgid) of pid from /proc/PID/stat; ok is false for
// a process that is gone or already dead (a zombie).
func ProcStat(pid int) (ppid, pgid int, ok bool) {
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

// pidsWhere lists the live processes whose parent and group keep accepts.
func pidsWhere(keep func(ppid, pgid int) bool) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, pgid, ok := ProcStat(pid); ok && keep(ppid, pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// ChildPIDs lists live processes whose parent is parent.
func ChildPIDs(parent int) []int {
	return pidsWhere(func(ppid, _ int) bool { return ppid == parent })
}

// GroupPIDs lists live processes in process group pgid.
func GroupPIDs(pgid int) []int {
	return pidsWhere(func(_, g int) bool { return g == pgid })
}

// DescribePIDs gives "pid command line" for each pid, for failure messages.
func DescribePIDs(pids []int) []string {
	var out []string
	for _, pid := range pids {
		cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		out = append(out, fmt.Sprintf("%d %s", pid, strings.ReplaceAll(string(cmd), "\x00", " ")))
	}
	return out
}

// SkipShort skips a test that runs real servers in the unit-only mode (go test -short),
// which the README documents; every other run needs the real binaries.
func SkipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs real servers; unit-only mode (-short)")
	}
}
