package deploy

import (
	"bufio"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/internal/walletproc"
)

// toolsPath is the script that installs the Monero the tests and `make run` run.
const toolsPath = "../scripts/tools.sh"

// moneroPinArg is the Dockerfile ARG that pins Debian's monero package.
const moneroPinArg = "MONERO_DEB_VERSION"

// TestTheImagesRunTheMoneroTheTestsRun: the images cannot be built here (no Docker engine),
// so the pin is checked. One ARG MONERO_DEB_VERSION, in one stage of one Dockerfile, names
// Debian's monero package, and it is scripts/tools.sh's MONERO_DEB_VERSION, the build the
// tests run (walletproc.MoneroVersion, at least activities.RequiredMoneroVersion, which the worker
// requires). That stage is Debian trixie, adds trixie-backports signed by Debian's archive
// keyring, installs exactly that version with apt (no unauthenticated source), and checks
// what it installed; the operations guide names it. Every Monero in the stack comes from it: monerod's image is that stage,
// tagged with the release, and the worker's image, whose wallet-rpcs the worker spawns, is
// built on it.
func TestTheImagesRunTheMoneroTheTestsRun(t *testing.T) {
	tools := shellAssignments(t, toolsPath)
	upstream, deb := tools["MONERO_VERSION"], tools[moneroPinArg]
	if upstream == "" || deb == "" {
		t.Fatalf("%s sets no MONERO_VERSION or %s", toolsPath, moneroPinArg)
	}
	if !strings.HasPrefix(deb, upstream+"+") {
		t.Errorf("%s: %s=%s is not Debian's package of MONERO_VERSION=%s", toolsPath, moneroPinArg, deb, upstream)
	}
	if upstream != walletproc.MoneroVersion {
		t.Errorf("%s installs Monero %s, walletproc.MoneroVersion says %s", toolsPath, upstream, walletproc.MoneroVersion)
	}
	if activities.CompareMoneroVersions("v"+upstream, activities.RequiredMoneroVersion) < 0 {
		t.Errorf("Monero %s is older than %s, which the worker requires", upstream, activities.RequiredMoneroVersion)
	}

	c := loadCompose(t)
	type pinAt struct{ dockerfile, stage, value string }
	var pins []pinAt
	all := map[string][]stage{}
	for _, df := range dockerfiles(t, c) {
		all[df] = stages(t, df)
		for _, st := range all[df] {
			for _, ins := range st.instructions {
				kw, rest, _ := strings.Cut(ins, " ")
				if name, value, _ := strings.Cut(strings.TrimSpace(rest), "="); strings.EqualFold(kw, "ARG") && name == moneroPinArg {
					pins = append(pins, pinAt{df, st.name, strings.Trim(value, `"'`)})
				}
			}
		}
	}
	if len(pins) != 1 {
		t.Fatalf("want exactly one ARG %s in the Dockerfiles, the one place the images pin Monero; found %v", moneroPinArg, pins)
	}
	pin := pins[0]
	if pin.value != deb {
		t.Errorf("%s pins monero %s, but the tests run %s (%s's %s): move both together", pin.dockerfile, pin.value, deb, toolsPath, moneroPinArg)
	}
	if !strings.Contains(docSection(t, dockerSection), "`"+deb+"`") {
		t.Errorf("%s's %q section does not name the pinned package, `%s`", opsDocPath, dockerSection, deb)
	}
	for _, path := range append([]string{composePath}, sortedKeys(all)...) {
		if n := strings.Count(readFile(t, path), deb); n > 0 && path != pin.dockerfile || n > 1 {
			t.Errorf("%s names %s %d time(s); only the ARG in %s may", path, deb, n, pin.dockerfile)
		}
	}

	var st stage
	for _, s := range all[pin.dockerfile] {
		if s.name == pin.stage {
			st = s
		}
	}
	if pin.stage == "" || !strings.HasPrefix(st.from, "debian:trixie") {
		t.Errorf("%s: the ARG %s is in stage %q FROM %q; want a named stage FROM debian:trixie-… (the suite %s installs from)", pin.dockerfile, moneroPinArg, pin.stage, st.from, toolsPath)
	}
	var install string
	for _, ins := range st.instructions {
		if kw, rest, _ := strings.Cut(ins, " "); strings.EqualFold(kw, "RUN") && regexp.MustCompile(`monero=("?)\$\{?`+moneroPinArg+`\b`).MatchString(rest) {
			install = rest
		}
	}
	if install == "" {
		t.Fatalf("%s: no RUN in stage %s installs monero=${%s}", pin.dockerfile, pin.stage, moneroPinArg)
	}
	for _, want := range []string{"set -eu", "apt-get install", "trixie-backports", "signed-by=/usr/share/keyrings/debian-archive-keyring.gpg", "dpkg-query", "--version"} {
		if !strings.Contains(install, want) {
			t.Errorf("the monero install step lacks %q", want)
		}
	}
	for _, bad := range []string{"--allow-unauthenticated", "trusted=yes", "AllowInsecureRepositories", "AllowUnauthenticated", "--force-yes", "getmonero.org"} {
		if strings.Contains(install, bad) {
			t.Errorf("the monero install step has %q: apt must check Debian's signatures, and the package must be Debian's", bad)
		}
	}

	builtOn := func(df, target string) bool {
		sts := all[df]
		if len(sts) == 0 {
			return false
		}
		cur := sts[len(sts)-1].name
		if target != "" {
			cur = target
		}
		for range sts {
			if cur == pin.stage {
				return true
			}
			i := slices.IndexFunc(sts, func(s stage) bool { return s.name == cur })
			if i < 0 {
				return false
			}
			cur = sts[i].from
		}
		return false
	}
	base := filepath.Dir(composePath)
	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		runsMonerod := len(s.Command) > 0 && filepath.Base(s.Command[0]) == "monerod"
		if !runsMonerod && name != "worker" {
			continue
		}
		if s.Build == nil || s.Build.dockerfilePath(base) != pin.dockerfile || !builtOn(pin.dockerfile, s.Build.Target) {
			t.Errorf("%s runs Monero but is not built on stage %s of %s, which installs the pinned monero", name, pin.stage, pin.dockerfile)
		}
		if runsMonerod && !strings.HasSuffix(s.Image, ":"+upstream) {
			t.Errorf("%s's image %q is not tagged with the Monero it runs, %s", name, s.Image, upstream)
		}
	}
}

// shellAssignments reads a shell script's top-level NAME=value lines.
func shellAssignments(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	re := regexp.MustCompile(`^([A-Z][A-Z0-9_]*)=(\S+)$`)
	for _, l := range strings.Split(readFile(t, path), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			out[m[1]] = strings.Trim(m[2], `"'`)
		}
	}
	return out
}

// --- Dockerfiles -------------------------------------------------------------------------------

func dockerfiles(t *testing.T, c composeFile) []string {
	t.Helper()
	var out []string
	for _, name := range sortedKeys(c.Services) {
		if b := c.Services[name].Build; b != nil {
			df := b.dockerfilePath(filepath.Dir(composePath))
			if !slices.Contains(out, df) {
				out = append(out, df)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no service builds an image; the worker and wallet-rpc should")
	}
	return out
}

// instructions returns a Dockerfile's instructions with continuation lines joined.
func instructions(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(readFile(t, path)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

// fromLines returns [image, stage name] for each FROM.
func fromLines(t *testing.T, path string) [][2]string {
	t.Helper()
	var out [][2]string
	for _, ins := range instructions(t, path) {
		f := strings.Fields(ins)
		if !strings.EqualFold(f[0], "FROM") {
			continue
		}
		args := slices.DeleteFunc(f[1:], func(a string) bool { return strings.HasPrefix(a, "--") })
		if len(args) == 0 {
			t.Errorf("%s: %q names no image", path, ins)
			continue
		}
		var stage string
		if len(args) == 3 && strings.EqualFold(args[1], "AS") {
			stage = args[2]
		}
		out = append(out, [2]string{args[0], stage})
	}
	return out
}

// stage is one build stage of a Dockerfile: its name (AS), the image or stage it starts
// FROM, and its instructions after the FROM.
type stage struct {
	name, from   string
	instructions []string
}

// stages splits a Dockerfile into its build stages.
func stages(t *testing.T, path string) []stage {
	t.Helper()
	var out []stage
	for _, ins := range instructions(t, path) {
		f := strings.Fields(ins)
		if strings.EqualFold(f[0], "FROM") {
			args := slices.DeleteFunc(f[1:], func(a string) bool { return strings.HasPrefix(a, "--") })
			st := stage{}
			if len(args) > 0 {
				st.from = args[0]
			}
			if len(args) == 3 && strings.EqualFold(args[1], "AS") {
				st.name = args[2]
			}
			out = append(out, st)
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].instructions = append(out[len(out)-1].instructions, ins)
		}
	}
	return out
}

// copySources returns the context paths that COPY/ADD instructions without --from read.
func copySources(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, ins := range instructions(t, path) {
		f := strings.Fields(ins)
		if !strings.EqualFold(f[0], "COPY") && !strings.EqualFold(f[0], "ADD") {
			continue
		}
		if slices.ContainsFunc(f, func(a string) bool { return strings.HasPrefix(a, "--from") }) {
			continue
		}
		args := slices.DeleteFunc(f[1:], func(a string) bool { return strings.HasPrefix(a, "--") })
		if len(args) >= 2 {
			out = append(out, args[:len(args)-1]...)
		}
	}
	return out
}

// --- Docs and env files ---------------------------------------------------------------------------
