package deploy

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// docSection returns the operations guide from the heading line up to the next heading of
// the same or a higher level.
func docSection(t *testing.T, heading string) string {
	t.Helper()
	level := strings.Index(heading, " ")
	lines := strings.Split(readFile(t, opsDocPath), "\n")
	start := slices.Index(lines, heading)
	if start < 0 {
		t.Fatalf("%s has no %q section", opsDocPath, heading)
	}
	end := len(lines)
	fenced := false // inside a ``` block, where "# ..." is a shell comment
	for i := start + 1; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "```") {
			fenced = !fenced
			continue
		}
		if h := strings.Index(lines[i], " "); !fenced && h > 0 && h <= level && strings.Trim(lines[i][:h], "#") == "" {
			end = i
			break
		}
	}
	return strings.Join(lines[start:end], "\n")
}

// TestReadmeLinksIntoTheOperationsGuide: the README is a front door; the compose stack, the
// tools and the restore are documented in the operations guide, so the README must link to
// it, and every link into it must name a heading it has.
func TestReadmeLinksIntoTheOperationsGuide(t *testing.T) {
	readme := readFile(t, readmePath)
	anchors := map[string]bool{}
	fenced := false
	for _, l := range strings.Split(readFile(t, opsDocPath), "\n") {
		if strings.HasPrefix(l, "```") {
			fenced = !fenced
		}
		if h, text, ok := strings.Cut(l, " "); ok && !fenced && h != "" && strings.Trim(h, "#") == "" {
			anchors[headingAnchor(text)] = true
		}
	}
	links := regexp.MustCompile(`\]\(docs/operations\.md(#[^)]*)?\)`).FindAllStringSubmatch(readme, -1)
	if len(links) == 0 {
		t.Fatalf("%s does not link to docs/operations.md", readmePath)
	}
	for _, m := range links {
		if m[1] != "" && !anchors[m[1][1:]] {
			t.Errorf("%s links to docs/operations.md%s, which has no such heading", readmePath, m[1])
		}
	}
}

// headingAnchor is the anchor GitHub gives a Markdown heading: lower case, punctuation other
// than - and _ dropped, spaces made -.
func headingAnchor(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(text)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// tableRows returns the Markdown table rows of a text.
func tableRows(text string) []string {
	var rows []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "|") {
			rows = append(rows, l)
		}
	}
	return rows
}

// readEnvFile reads KEY=VALUE lines, skipping comments.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range strings.Split(readFile(t, path), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Errorf("%s: %q is not KEY=VALUE", path, l)
			continue
		}
		out[k] = v
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
