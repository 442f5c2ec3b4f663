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
	// internal/store is the projection the client reads (Get, List): sqlx and lib/pq, no
	// migrations (goose) and nothing of the worker side.
	forbidden := []string{
		mod + "activities", mod + "walletrpc", mod + "workflows", mod + "worker",
		mod + "internal/", "github.com/pressly/goose", "go.temporal.io/sdk/worker",
	}
	allowed := map[string]bool{mod + "internal/store": true}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if !allowed[dep] && (dep == f || strings.HasPrefix(dep, strings.TrimSuffix(f, "/")+"/")) {
				t.Errorf("starter depends on %s", dep)
			}
		}
	}
}
