package starter

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The marketplace links this package into its own service: it must not drag in the worker
// side (wallet-rpc client, activities, the workflow code), the migrations (goose) or the dev
// harness. go list reads the import graph as the compiler will build it.
func TestTheClientCompilesInNoneOfTheWorkerSide(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "go list -deps: %s", out)
	const mod = "github.com/xmr-escrow/xmr-escrow/"
	forbidden := []string{
		mod + "activities", mod + "walletrpc", mod + "workflows", mod + "worker", mod + "supervisor",
		mod + "devstack", mod + "localstack", mod + "internal/", "github.com/pressly/goose",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, strings.TrimSuffix(f, "/")+"/") {
				t.Errorf("starter depends on %s", dep)
			}
		}
	}
}
