//go:build !crashpoints

package crashpoint

// Built says this binary acts on Env: not without the crashpoints tag, the
// way production binaries are built.
const Built = false

// At does nothing in a binary built without the crashpoints tag, whatever Env says.
func At(string, int) {}
