package archtest

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateAPI = flag.Bool("update-api", false, "rewrite testdata/api.txt from the code")

// publicPackages are the packages a marketplace or an embedding worker imports: the contract.
var publicPackages = []string{"escrow", "moneroaddr", "keyring", "codec", "starter", "walletrpc",
	"workflows", "activities", "activities/placement", "activities/projection", "worker"}

// TestThePublicContractIsWhatTheReviewSaw lists every exported name of the public packages
// (testdata/api.txt): a change to the contract shows in the diff of that file. Regenerate it
// with go test ./internal/archtest -run TestThePublicContract -update-api.
func TestThePublicContractIsWhatTheReviewSaw(t *testing.T) {
	var b strings.Builder
	total := 0
	for _, p := range publicPackages {
		names := exportedNames(t, "./"+p)
		total += len(names)
		fmt.Fprintf(&b, "# %s (%d)\n", p, len(names))
		for _, n := range names {
			fmt.Fprintln(&b, n)
		}
	}
	fmt.Fprintf(&b, "# total %d\n", total)
	got := b.String()
	if *updateAPI {
		require.NoError(t, os.WriteFile("testdata/api.txt", []byte(got), 0o644))
	}
	want, err := os.ReadFile("testdata/api.txt")
	require.NoError(t, err, "run with -update-api to write it")
	added, removed := lineDiff(string(want), got)
	assert.Empty(t, added, "new in the public contract: review, then run with -update-api")
	assert.Empty(t, removed, "gone from the public contract: review, then run with -update-api")
	// Everything else is internal/, cmd/, deploy or tests.
	for _, p := range listPackages(t, "./...") {
		name := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if strings.HasPrefix(name, "internal/") || strings.Contains(name, "/internal/") || strings.HasPrefix(name, "cmd/") || name == "deploy" || name == "integration" {
			continue
		}
		assert.Contains(t, publicPackages, name, "%s is public: move it under internal/, or make it part of the contract", name)
	}
}

// exportedNames lists a package's exported top-level names and the exported methods of its
// types, sorted; the files are those go list builds on this platform.
func exportedNames(t *testing.T, pattern string) []string {
	t.Helper()
	pkgs := listPackages(t, pattern)
	require.Len(t, pkgs, 1, pattern)
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range pkgs[0].GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(pkgs[0].Dir, name), nil, 0)
		require.NoError(t, err)
		files = append(files, f)
	}
	var names []string
	for _, f := range files {
		{
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if !d.Name.IsExported() {
						continue
					}
					if d.Recv != nil && len(d.Recv.List) > 0 {
						recv := receiverName(d.Recv.List[0].Type)
						if ast.IsExported(recv) {
							names = append(names, "method "+recv+"."+d.Name.Name)
						}
						continue
					}
					names = append(names, "func "+d.Name.Name)
				case *ast.GenDecl:
					for _, s := range d.Specs {
						switch s := s.(type) {
						case *ast.TypeSpec:
							if s.Name.IsExported() {
								names = append(names, "type "+s.Name.Name)
							}
						case *ast.ValueSpec:
							for _, n := range s.Names {
								if n.IsExported() {
									names = append(names, strings.ToLower(d.Tok.String())+" "+n.Name)
								}
							}
						}
					}
				}
			}
		}
	}
	sort.Strings(names)
	return names
}

// receiverName is T for a receiver T, *T or T[P].
func receiverName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return receiverName(e.X)
	case *ast.IndexExpr:
		return receiverName(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// lineDiff returns the lines of b not in a, and those of a not in b.
func lineDiff(a, b string) (added, removed []string) {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	as, bs := in(a), in(b)
	for l := range bs {
		if !as[l] {
			added = append(added, l)
		}
	}
	for l := range as {
		if !bs[l] {
			removed = append(removed, l)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}
