package workflows

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryMarkerIsListed: each marker the workflow code asks for (version(ctx, change…))
// is in versions.go's changes, once, and nothing there is unused.
func TestEveryMarkerIsListed(t *testing.T) {
	used := map[string]bool{}
	fset, files := parseSources(t)
	for f, file := range files {
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			if fn, ok := call.Fun.(*ast.Ident); ok && fn.Name == "version" {
				id, ok := call.Args[1].(*ast.Ident)
				require.True(t, ok, "%s: a marker is a named constant", fset.Position(call.Pos()))
				used[id.Name] = true
			}
			return true
		})
		ast.Inspect(file, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "GetVersion" && f != "versions.go" {
				t.Errorf("%s: call version, not workflow.GetVersion, so the marker is listed and testable", fset.Position(sel.Pos()))
			}
			return true
		})
	}
	ids := map[string]bool{}
	for _, c := range changes {
		require.False(t, ids[c.id], "%s listed twice", c.id)
		ids[c.id] = true
		assert.NotEmpty(t, c.guards, c.id)
		assert.NotEmpty(t, c.since, c.id)
		assert.True(t, len(c.oldPath) > 0 || c.note != "", "%s: name the histories that pin its old path, or say why none does", c.id)
	}
	values := map[string]string{}
	for name := range used {
		values[name] = markerValue(t, name)
	}
	for name, v := range values {
		assert.True(t, ids[v], "%s (%q) is used but not listed in changes", name, v)
	}
	for id := range ids {
		assert.True(t, slices.Contains(slices.Collect(maps.Values(values)), id), "%q is listed but no code asks for it", id)
	}
}

// TestRetiringAMarkerFailsExactlyItsHistories retires each marker in turn, as its removal
// would, and replays every saved history: exactly those listed for it fail. A history that
// fails and is not listed, or one listed that replays, means the list is wrong.
func TestRetiringAMarkerFailsExactlyItsHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/history-*.json")
	require.NoError(t, err)
	replayer := newReplayer(t)
	defer func() { retiredForTest = "" }()
	for _, c := range changes {
		retiredForTest = c.id
		var failed []string
		for _, f := range files {
			if replayer(f) != nil {
				failed = append(failed, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "history-"), ".json"))
			}
		}
		assert.ElementsMatch(t, c.oldPath, failed, "retiring %s", c.id)
	}
}

// markerValue is the string value of the marker constant name, read from the source.
func markerValue(t *testing.T, name string) string {
	t.Helper()
	_, files := parseSources(t)
	for _, file := range files {
		if obj := file.Scope.Lookup(name); obj != nil {
			if vs, ok := obj.Decl.(*ast.ValueSpec); ok {
				for i, n := range vs.Names {
					if n.Name == name {
						lit := vs.Values[i].(*ast.BasicLit)
						return strings.Trim(lit.Value, `"`)
					}
				}
			}
		}
	}
	t.Fatalf("no constant %s", name)
	return ""
}

// parseSources parses the package's non-test files, by file name.
func parseSources(t *testing.T) (*token.FileSet, map[string]*ast.File) {
	t.Helper()
	names, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	for _, f := range names {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		files[f] = file
	}
	return fset, files
}
