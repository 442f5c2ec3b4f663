//go:build crashpoints

package crashpoint

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
		"":                {"", 0},
		CreateCreated:     {CreateCreated, 0},
		"round-stepped:2": {RoundStepped, 2},
		"purge-wait:1":    {PurgeWait, 1},
		"round-start:x":   {RoundStart, -1},
		"round-start:0":   {RoundStart, -1},
		Name("a", 3):      {"a", 3},
	} {
		p, r := parseCrashPoint(v)
		assert.Equal(t, want.point, p, v)
		assert.Equal(t, want.round, r, v)
	}
	assert.Equal(t, "round-done:3", Name(RoundDone, 3))
	assert.Equal(t, VerifyRead, Name(VerifyRead, 0))
}

func TestCrashAtIsANoOpWithoutThePoint(t *testing.T) {
	require.Empty(t, os.Getenv(Env), "the test process itself must not have a crash point")
	At(CreateCreated, 0)
	At(RoundStepped, 2)
	for range 5 {
		At(RoundDone, 1)
	}
	assert.Zero(t, roundsDone.Load(), "nothing is counted without a crash point")
}

func BenchmarkCrashAtWithoutThePoint(b *testing.B) {
	for b.Loop() {
		At(RoundStepped, 2)
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
		{Name(RoundStepped, 2), "stepped-2"},
		{CreateCreated, "created"},
		{Name(PurgeWait, 1), "purge-1"},
	}
	for _, c := range cases {
		t.Run(c.script, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashAtKillsTheProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), Env+"="+c.point, crashChild+"="+c.script)
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
				assert.GreaterOrEqual(t, time.Since(started), PurgeWaitDelay, "the purge wait point kills after its delay")
			}
		})
	}
}

// runCrashChild is the child: it calls the hook as the steps do and reports on stdout.
func runCrashChild(script string) {
	switch script {
	case "stepped-2":
		At(RoundStepped, 1)
		At(RoundStart, 2)
		At(RoundDone, 2)
		fmt.Println("alive before the point")
		At(RoundStepped, 2)
	case "created":
		At(CreateReturn, 0)
		At(PrepareStart, 0)
		fmt.Println("alive before the point")
		At(CreateCreated, 0)
	case "purge-1":
		for range 3 {
			At(RoundDone, 2) // another round's steps
		}
		At(RoundDone, 1)
		At(RoundDone, 1)
		time.Sleep(PurgeWaitDelay + 300*time.Millisecond) // two of three roles: no kill armed
		fmt.Println("alive before the point")
		At(RoundDone, 1) // the third role's step: the kill comes after the delay
		time.Sleep(10 * PurgeWaitDelay)
	}
	fmt.Println("survived " + strings.ToUpper(script))
	os.Exit(0)
}
