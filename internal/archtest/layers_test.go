package archtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// module is this repository's module path.
const module = "github.com/xmr-escrow/xmr-escrow"

// root is the repository's root, seen from this package.
const root = "../.."

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
}

// listPackages runs go list -json over the module.
func listPackages(t *testing.T, args ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = root
	out, err := cmd.Output()
	require.NoError(t, err, "go list %v", args)
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		require.NoError(t, dec.Decode(&p))
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// readmeLayers reads the README's layers block: a layer number, then its packages.
func readmeLayers(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	defer f.Close()
	layers := map[string]int{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "```layers":
			in = true
		case in && line == "```":
			in = false
		case in:
			fields := strings.Fields(line)
			require.NotEmpty(t, fields)
			n, err := strconv.Atoi(fields[0])
			require.NoError(t, err, "a layer line starts with its number: %q", line)
			for _, p := range fields[1:] {
				_, dup := layers[p]
				require.False(t, dup, "%s is in two layers", p)
				layers[p] = n
			}
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, layers, "the README's code map has a ```layers block")
	return layers
}

// TestNoPackageImportsOneAboveIt: every package of the module is in the README's layers, and
// imports only from its own layer or below.
func TestNoPackageImportsOneAboveIt(t *testing.T) {
	layers := readmeLayers(t)
	for _, p := range listPackages(t, "./...") {
		name := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		at, ok := layers[name]
		if !assert.True(t, ok, "%s is in no layer of the README's code map", name) {
			continue
		}
		for _, imp := range p.Imports {
			dep, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			if l, known := layers[dep]; known {
				assert.LessOrEqual(t, l, at, "%s (layer %d) imports %s (layer %d), which stands above it", name, at, dep, l)
			}
		}
	}
}

// TestTheDesignsTopLevelFoldersExist: a reader with the design in hand finds its folders.
func TestTheDesignsTopLevelFoldersExist(t *testing.T) {
	for _, name := range []string{"workflows", "activities", "worker", "starter", "walletrpc",
		"docker-compose.temporal.yml", "go.mod", "go.sum", "Makefile", "README.md"} {
		_, err := os.Stat(filepath.Join(root, name))
		assert.NoError(t, err, "the design names %s at the top level", name)
	}
}
