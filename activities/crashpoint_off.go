//go:build !crashpoints

package activities

// CrashPointsBuilt says this binary acts on EnvCrashAt: not without the crashpoints tag, the
// way production binaries are built.
const CrashPointsBuilt = false

// crashAt does nothing in a binary built without the crashpoints tag, whatever EnvCrashAt says.
func crashAt(string, int) {}
