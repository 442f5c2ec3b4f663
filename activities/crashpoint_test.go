//go:build crashpoints

package activities

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCrashPoint(t *testing.T) {
	for v, want := range map[string]struct {
		point string
		round int
	}{
		"":                     {"", 0},
		CrashCreateCreated:     {CrashCreateCreated, 0},
		"round-stepped:2":      {CrashRoundStepped, 2},
		"purge-wait:1":         {CrashPurgeWait, 1},
		"round-start:x":        {CrashRoundStart, -1},
		"round-start:0":        {CrashRoundStart, -1},
		CrashPointName("a", 3): {"a", 3},
	} {
		p, r := parseCrashPoint(v)
		assert.Equal(t, want.point, p, v)
		assert.Equal(t, want.round, r, v)
	}
	assert.Equal(t, "round-done:3", CrashPointName(CrashRoundDone, 3))
	assert.Equal(t, CrashVerifyRead, CrashPointName(CrashVerifyRead, 0))
}

func TestCrashAtIsANoOpWithoutThePoint(t *testing.T) {
	require.Empty(t, os.Getenv(EnvCrashAt), "the test process itself must not have a crash point")
	crashAt(CrashCreateCreated, 0)
	crashAt(CrashRoundStepped, 2)
	for range 5 {
		crashAt(CrashRoundDone, 1)
	}
	assert.Zero(t, roundsDone.Load(), "nothing is counted without a crash point")
}

func BenchmarkCrashAtWithoutThePoint(b *testing.B) {
	for b.Loop() {
		crashAt(CrashRoundStepped, 2)
	}
}

// crashChild, set, makes TestCrashAtKillsTheProcess the child process that runs that script.
const crashChild = "XMR_ESCROW_CRASHPOINT_CHILD"

// TestCrashAtKillsTheProcess runs a child with a crash point, which calls the hook at other
// points first (it must live on) and then at its own (it must die by SIGKILL, saying so).
func TestCrashAtKillsTheProcess(t *testing.T) {
	if script := os.Getenv(crashChild); script != "" {
		runCrashChild(script)
		return
	}
	cases := []struct{ point, script string }{
		{CrashPointName(CrashRoundStepped, 2), "stepped-2"},
		{CrashCreateCreated, "created"},
		{CrashPointName(CrashPurgeWait, 1), "purge-1"},
	}
	for _, c := range cases {
		t.Run(c.script, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashAtKillsTheProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), EnvCrashAt+"="+c.point, crashChild+"="+c.script)
			started := time.Now()
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "the child must die: %v\n%s", err, out)
			ws := ee.Sys().(syscall.WaitStatus)
			assert.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "killed by SIGKILL, got %v\n%s", ws, out)
			assert.Contains(t, string(out), "reached crash point "+c.point)
			assert.Contains(t, string(out), "alive before the point")
			assert.NotContains(t, string(out), "survived")
			if c.script == "purge-1" {
				assert.GreaterOrEqual(t, time.Since(started), PurgeWaitCrashDelay, "the purge wait point kills after its delay")
			}
		})
	}
}

// runCrashChild is the child: it calls the hook as the steps do and reports on stdout.
func runCrashChild(script string) {
	switch script {
	case "stepped-2":
		crashAt(CrashRoundStepped, 1)
		crashAt(CrashRoundStart, 2)
		crashAt(CrashRoundDone, 2)
		fmt.Println("alive before the point")
		crashAt(CrashRoundStepped, 2)
	case "created":
		crashAt(CrashCreateReturn, 0)
		crashAt(CrashPrepareStart, 0)
		fmt.Println("alive before the point")
		crashAt(CrashCreateCreated, 0)
	case "purge-1":
		for range 3 {
			crashAt(CrashRoundDone, 2) // another round's steps
		}
		crashAt(CrashRoundDone, 1)
		crashAt(CrashRoundDone, 1)
		time.Sleep(PurgeWaitCrashDelay + 300*time.Millisecond) // two of three roles: no kill armed
		fmt.Println("alive before the point")
		crashAt(CrashRoundDone, 1) // the third role's step: the kill comes after the delay
		time.Sleep(10 * PurgeWaitCrashDelay)
	}
	fmt.Println("survived " + strings.ToUpper(script))
	os.Exit(0)
}
