package archtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheIntegrationShardNamesRealTestsThatNeedNoChain keeps the Makefile's NO_CHAIN list (the
// integration tests make test runs in a process of their own) true: every name is a test of
// the integration package, and none of them starts a regtest chain. A test renamed but not
// listed anew would only make the other process longer; one that starts a chain would make the
// two processes' load lopsided.
func TestTheIntegrationShardNamesRealTestsThatNeedNoChain(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^NO_CHAIN := \^\(([^)]*)\)\$\$$`).FindSubmatch(mk)
	require.NotNil(t, m, "the Makefile defines NO_CHAIN := ^(TestA|TestB)$$")
	names := strings.Split(string(m[1]), "|")
	require.NotEmpty(t, names)

	files, err := filepath.Glob(filepath.Join(root, "integration", "*_test.go"))
	require.NoError(t, err)
	bodies := map[string]string{} // test name -> its function's text
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, fn := range regexp.MustCompile(`(?m)^func `).Split(string(src), -1) {
			if name, ok := strings.CutPrefix(fn, "Test"); ok {
				bodies["Test"+name[:strings.IndexAny(name, "(")]] = fn
			}
		}
	}
	for _, n := range names {
		body, ok := bodies[n]
		if !assert.True(t, ok, "NO_CHAIN names %s, which is no test of the integration package", n) {
			continue
		}
		assert.NotContains(t, body, "regtest(", "%s starts a regtest chain: it belongs to the other process", n)
	}
}
