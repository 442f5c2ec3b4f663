//go:build !crashpoints

package crashpoint

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// offChild, set, makes TestAProductionBuildIgnoresTheCrashPoint the child that calls the hook.
const offChild = "XMR_ESCROW_CRASHPOINT_OFF_CHILD"

// TestAProductionBuildIgnoresTheCrashPoint: built without the crashpoints tag, as production
// binaries are, a process with Env set passes its point and lives on.
func TestAProductionBuildIgnoresTheCrashPoint(t *testing.T) {
	if os.Getenv(offChild) != "" {
		At(CreateCreated, 0)
		os.Stdout.WriteString("alive after the point\n")
		os.Exit(0)
	}
	assert.False(t, Built)
	cmd := exec.Command(os.Args[0], "-test.run=^TestAProductionBuildIgnoresTheCrashPoint$", "-test.count=1")
	cmd.Env = append(os.Environ(), Env+"="+CreateCreated, offChild+"=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.False(t, errors.As(err, &ee), "the child must live: %v\n%s", err, out)
	assert.Contains(t, string(out), "alive after the point")
}
