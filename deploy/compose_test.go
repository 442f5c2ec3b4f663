package deploy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	yaml "go.yaml.in/yaml/v3"

	"github.com/xmr-escrow/xmr-escrow/internal/activities"
	"github.com/xmr-escrow/xmr-escrow/internal/walletproc"
)

// Paths from this package's directory, where `go test` runs.
const (
	composePath    = "../docker-compose.temporal.yml"
	envExamplePath = "env.example"
	// opsDocPath is the operations guide, which documents the compose stack (the README
	// only links to it).
	opsDocPath = "../docs/operations.md"
	// readmePath is the front page, which must link into the operations guide.
	readmePath = "../README.md"
	// dockerSection is the operations guide's section that documents the compose stack.
	dockerSection = "## Production-like stack (Docker)"
	// envSection is the operations guide's table of every environment variable the binaries read.
	envSection = "## Environment variables"
)

// TestComposeConfig has docker-compose itself parse, interpolate and validate the file with
// the example secrets, and checks that the secrets are required, not defaulted.
func TestComposeConfig(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if testing.Short() {
			t.Skip("docker-compose is not installed; -short skips validating the compose file")
		}
		t.Fatal("docker-compose is not installed: install it with `apt-get install -y docker-compose` (make test does this)")
	}

	t.Run("with env.example", func(t *testing.T) {
		out, err := composeConfig(t, bin, "../deploy/"+envExamplePath)
		if err != nil {
			t.Fatalf("docker-compose config failed: %v\n%s", err, out)
		}
		var resolved composeFile
		if err := yaml.Unmarshal(out, &resolved); err != nil {
			t.Fatalf("docker-compose config printed something that is not YAML: %v\n%s", err, out)
		}
		raw := loadCompose(t)
		if got, want := sortedKeys(resolved.Services), sortedKeys(raw.Services); !slices.Equal(got, want) {
			t.Errorf("docker-compose config sees services %v, the file has %v", got, want)
		}
		// The secrets reach the containers from the env file.
		example := readEnvFile(t, envExamplePath)
		for _, name := range []string{"worker", "codec-server"} {
			keys := resolved.Services[name].Environment["XMR_ESCROW_KEYS"]
			if keys != example["XMR_ESCROW_KEYS"] {
				t.Errorf("%s: XMR_ESCROW_KEYS resolves to %q, want the env file's %q", name, keys, example["XMR_ESCROW_KEYS"])
			}
		}
	})

	t.Run("without secrets", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "empty.env")
		if err := os.WriteFile(empty, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := composeConfig(t, bin, empty)
		if err == nil {
			t.Fatalf("docker-compose config succeeded without any secret; every secret must be required (${VAR:?…}):\n%s", out)
		}
		if !bytes.Contains(out, []byte("in .env")) {
			t.Errorf("the error does not say which variable to set in .env:\n%s", out)
		}
	})
}

// composeConfig runs `docker-compose config` with envFile in an environment that has none
// of the caller's variables, so a developer's exported XMR_ESCROW_KEYS cannot mask a gap.
func composeConfig(t *testing.T, bin, envFile string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-f", composePath, "--env-file", envFile, "config")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8"}
	return cmd.CombinedOutput()
}

// TestComposePortsLoopbackAndDocumented: every published port is bound to 127.0.0.1, and the
// operations guide's Docker section lists exactly those (as `127.0.0.1:PORT` in a table).
func TestComposePortsLoopbackAndDocumented(t *testing.T) {
	c := loadCompose(t)
	published := map[int]string{}
	for _, name := range sortedKeys(c.Services) {
		for _, p := range c.Services[name].Ports {
			if p.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes port %d on %q; publish only on 127.0.0.1 (\"127.0.0.1:%d:%d\")", name, p.Published, p.HostIP, p.Published, p.Target)
			}
			if other, ok := published[p.Published]; ok {
				t.Errorf("port %d is published by both %s and %s", p.Published, other, name)
			}
			published[p.Published] = name
		}
	}
	if len(published) == 0 {
		t.Fatal("no service publishes a port; the Web UI, the codec server and Temporal's gRPC should")
	}

	documented := map[int]bool{}
	re := regexp.MustCompile(`127\.0\.0\.1:(\d+)`)
	for _, row := range tableRows(docSection(t, dockerSection)) {
		for _, m := range re.FindAllStringSubmatch(row, -1) {
			n, _ := strconv.Atoi(m[1])
			documented[n] = true
		}
	}
	for port, name := range published {
		if !documented[port] {
			t.Errorf("%s publishes 127.0.0.1:%d, but no table in %s's %q section lists `127.0.0.1:%d`", name, port, opsDocPath, dockerSection, port)
		}
	}
	for port := range documented {
		if _, ok := published[port]; !ok {
			t.Errorf("%s's %q section lists 127.0.0.1:%d, but no service publishes it", opsDocPath, dockerSection, port)
		}
	}
}

// TestComposeImagesPinned: every image, in the compose file and in the Dockerfiles it
// builds, names a tag (or digest) other than latest.
func TestComposeImagesPinned(t *testing.T) {
	c := loadCompose(t)
	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		if s.Image == "" && s.Build == nil {
			t.Errorf("%s has neither image nor build", name)
		}
		if s.Image != "" {
			if err := checkPinned(s.Image); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	for _, df := range dockerfiles(t, c) {
		stages := map[string]bool{}
		for _, from := range fromLines(t, df) {
			image, stage := from[0], from[1]
			if !stages[strings.ToLower(image)] && image != "scratch" {
				if err := checkPinned(image); err != nil {
					t.Errorf("%s: FROM %v", df, err)
				}
			}
			if stage != "" {
				stages[strings.ToLower(stage)] = true
			}
		}
	}
}

// checkPinned accepts name:tag and name@sha256:… with a tag that is not latest.
func checkPinned(image string) error {
	if strings.Contains(image, "${") {
		return fmt.Errorf("image %q is set by a variable; pin it in the file", image)
	}
	if strings.Contains(image, "@sha256:") {
		return nil
	}
	last := image[strings.LastIndex(image, "/")+1:]
	i := strings.LastIndex(last, ":")
	if i < 0 || i == len(last)-1 {
		return fmt.Errorf("image %q has no tag; pin a version", image)
	}
	if tag := last[i+1:]; tag == "latest" {
		return fmt.Errorf("image %q uses latest; pin a version", image)
	}
	return nil
}

// TestComposeEnvDocumented: every XMR_ESCROW_* and TEMPORAL_* variable that the worker and
// the codec server are given is in the operations guide's environment-variables table.
func TestComposeEnvDocumented(t *testing.T) {
	c := loadCompose(t)
	documented := map[string]bool{}
	re := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	for _, row := range tableRows(docSection(t, envSection)) {
		first, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(row), "|"), "|")
		for _, m := range re.FindAllStringSubmatch(first, -1) {
			documented[m[1]] = true
		}
	}
	if !documented["XMR_ESCROW_KEYS"] {
		t.Fatalf("could not read %s's %q table (no XMR_ESCROW_KEYS in its first column)", opsDocPath, envSection)
	}
	for _, name := range []string{"worker", "codec-server"} {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("no %s service", name)
			continue
		}
		for _, v := range sortedKeys(s.Environment) {
			if (strings.HasPrefix(v, "XMR_ESCROW_") || strings.HasPrefix(v, "TEMPORAL_")) && !documented[v] {
				t.Errorf("%s sets %s, which %s's %q table does not document", name, v, opsDocPath, envSection)
			}
		}
	}
}

// TestComposeVariablesDocumented: every ${VARIABLE} the compose file reads from .env is named
// in env.example (commented out if optional) and in the operations guide's Docker section.
func TestComposeVariablesDocumented(t *testing.T) {
	compose := readFile(t, composePath)
	example := readFile(t, envExamplePath)
	section := docSection(t, dockerSection)
	re := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)
	seen := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(compose, -1) {
		v := m[1]
		if seen[v] {
			continue
		}
		seen[v] = true
		if !regexp.MustCompile(`(?m)^#?` + v + `=`).MatchString(example) {
			t.Errorf("the compose file reads ${%s}, but %s does not list it", v, envExamplePath)
		}
		if !strings.Contains(section, "`"+v+"`") {
			t.Errorf("the compose file reads ${%s}, but %s's %q section does not name `%s`", v, opsDocPath, dockerSection, v)
		}
	}
	if len(seen) == 0 {
		t.Fatal("the compose file reads no variable; where do the secrets come from?")
	}
	// Placeholders only: no value in the example could be mistaken for a real secret.
	for k, v := range readEnvFile(t, envExamplePath) {
		if !strings.Contains(v, "REPLACE_ME") {
			t.Errorf("%s sets %s=%q; the example holds placeholders only", envExamplePath, k, v)
		}
	}
}

// TestComposeFilesExist: build contexts, Dockerfiles, the files they COPY from the context,
// and bind-mounted host paths (the Temporal config's own: deploy/cluster_test.go).
func TestComposeFilesExist(t *testing.T) {
	c := loadCompose(t)
	base := filepath.Dir(composePath)
	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		if s.Build != nil {
			ctxDir := filepath.Join(base, s.Build.Context)
			if st, err := os.Stat(ctxDir); err != nil || !st.IsDir() {
				t.Errorf("%s: build context %s is not a directory", name, s.Build.Context)
				continue
			}
			df := s.Build.dockerfilePath(base)
			if _, err := os.Stat(df); err != nil {
				t.Errorf("%s: Dockerfile %s: %v", name, df, err)
				continue
			}
			for _, src := range copySources(t, df) {
				if _, err := os.Stat(filepath.Join(ctxDir, src)); err != nil {
					t.Errorf("%s: %s copies %s from its context %s, which does not exist", name, df, src, s.Build.Context)
				}
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				if _, err := os.Stat(filepath.Join(base, src)); err != nil {
					t.Errorf("%s mounts %s, which does not exist", name, src)
				}
			}
		}
	}

}

// TestComposeWorkerSpawnsItsWalletRPCs: production launches monero-wallet-rpc as the tests
// do, through the worker (--spawn-wallet-rpcs, internal/walletproc), so the key cache, the
// ownership lock and the supervisor apply to it; compose starts none itself. Each spawned
// instance's wallet dir is a volume (a fixed pool: a grown one's dir would be lost with the
// container); the wallet-rpcs follow the stack's monerod, and get
// --allow-mismatched-daemon-version (--spawn-regtest-daemon) exactly when that monerod's
// default chain is regtest, which the operations guide says to drop for mainnet.
func TestComposeWorkerSpawnsItsWalletRPCs(t *testing.T) {
	c := loadCompose(t)
	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		for _, a := range append(append(command{}, s.Entrypoint...), s.Command...) {
			if filepath.Base(a) == "monero-wallet-rpc" {
				t.Errorf("%s runs monero-wallet-rpc itself: let the worker spawn it (--spawn-wallet-rpcs), as the tests do, so the key cache, the ownership lock and the supervisor apply", name)
			}
		}
	}
	w, ok := c.Services["worker"]
	if !ok {
		t.Fatal("no worker service")
	}
	if v, ok := w.Environment["XMR_ESCROW_WALLET_RPCS"]; ok {
		t.Errorf("the worker is given wallet-rpc instances (XMR_ESCROW_WALLET_RPCS=%q): it should spawn them", v)
	}
	n, err := strconv.Atoi(flagValue(w.Command, "--spawn-wallet-rpcs"))
	if err != nil || n != 3 {
		t.Fatalf("the worker's command %q spawns %q wallet-rpcs, want --spawn-wallet-rpcs=3 (one per role)", w.Command, flagValue(w.Command, "--spawn-wallet-rpcs"))
	}
	if m := flagValue(w.Command, "--spawn-max"); m != strconv.Itoa(n) {
		t.Errorf("--spawn-max is %q, want %d: a grown instance's wallet dir would not be on a volume", m, n)
	}
	dir := flagValue(w.Command, "--spawn-dir")
	if dir == "" {
		t.Fatal("the worker's command has no --spawn-dir")
	}
	seen := map[string]bool{}
	for i := 1; i <= n; i++ {
		at := filepath.Join(dir, fmt.Sprintf("rpc-%d", i))
		v := volumeAt(w.Volumes, at)
		switch {
		case v == "":
			t.Errorf("no volume at %s, the wallet dir of spawned instance %d", at, i)
		case strings.HasPrefix(v, ".") || strings.HasPrefix(v, "/"):
			t.Errorf("%s is the host path %s; use a named volume", at, v)
		case seen[v]:
			t.Errorf("volume %s holds two instances' wallet dirs", v)
		}
		seen[v] = true
	}

	daemon := flagValue(w.Command, "--spawn-daemon-address")
	host, port, _ := strings.Cut(daemon, ":")
	d, ok := c.Services[host]
	if !ok || len(d.Command) == 0 || d.Command[0] != "monerod" {
		t.Fatalf("--spawn-daemon-address %q is not the stack's monerod service", daemon)
	}
	if p := flagValue(d.Command, "--rpc-bind-port"); p != port {
		t.Errorf("--spawn-daemon-address %q, but %s serves RPC on port %q", daemon, host, p)
	}
	if cond := w.DependsOn[host]; cond != "service_healthy" {
		t.Errorf("the worker waits for %s with %q, want service_healthy", host, cond)
	}
	regtest := strings.Contains(strings.Join(d.Command, " "), "--regtest")
	flagged := slices.Contains(w.Command, "--spawn-regtest-daemon") || slices.Contains(w.Command, "--spawn-regtest-daemon=true")
	if regtest != flagged {
		t.Errorf("%s's default chain is regtest: %v, but the worker's --spawn-regtest-daemon: %v; wallet-rpc 0.18.5.3 needs --allow-mismatched-daemon-version against regtest, and must not get it on a real network", host, regtest, flagged)
	}
	if flagged {
		mainnet := ""
		for _, para := range strings.Split(docSection(t, dockerSection), "\n\n") {
			if strings.HasPrefix(para, "**Mainnet.**") {
				mainnet = para
			}
		}
		if !strings.Contains(mainnet, "`--spawn-regtest-daemon`") {
			t.Errorf("%s's **Mainnet.** paragraph (in %q) does not say to drop `--spawn-regtest-daemon`", opsDocPath, dockerSection)
		}
	}
}

// --- the compose file, as much of it as the checks read --------------------------------------

type composeFile struct {
	Services map[string]service `yaml:"services"`
}

type service struct {
	Image       string      `yaml:"image"`
	Build       *build      `yaml:"build"`
	Ports       []port      `yaml:"ports"`
	Environment environment `yaml:"environment"`
	Entrypoint  command     `yaml:"entrypoint"`
	Command     command     `yaml:"command"`
	Volumes     []string    `yaml:"volumes"`
	Tmpfs       command     `yaml:"tmpfs"`
	DependsOn   dependsOn   `yaml:"depends_on"`
	Networks    networks    `yaml:"networks"`
}

// networks is a list of names, or a mapping of names to settings (what `docker-compose
// config` prints).
type networks []string

func (ns *networks) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var m map[string]any
		if err := n.Decode(&m); err != nil {
			return err
		}
		*ns = sortedKeys(m)
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*ns = list
	return nil
}

// build is `build: DIR` or `build: {context, dockerfile}`.
type build struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
	Target     string `yaml:"target"`
}

func (b *build) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain build
	return n.Decode((*plain)(b))
}

func (b *build) dockerfilePath(base string) string {
	df := b.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	if filepath.IsAbs(df) {
		return df
	}
	return filepath.Join(base, b.Context, df)
}

// port is "[HOST_IP:]PUBLISHED:TARGET[/proto]" or the long syntax.
type port struct {
	HostIP    string `yaml:"host_ip"`
	Published int    `yaml:"published"`
	Target    int    `yaml:"target"`
}

func (p *port) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		type plain port
		return n.Decode((*plain)(p))
	}
	spec, _, _ := strings.Cut(n.Value, "/")
	parts := strings.Split(spec, ":")
	var err error
	switch len(parts) {
	case 1:
		p.Target, err = strconv.Atoi(parts[0])
	case 2:
		if p.Published, err = strconv.Atoi(parts[0]); err == nil {
			p.Target, err = strconv.Atoi(parts[1])
		}
	case 3:
		p.HostIP = parts[0]
		if p.Published, err = strconv.Atoi(parts[1]); err == nil {
			p.Target, err = strconv.Atoi(parts[2])
		}
	default:
		err = fmt.Errorf("cannot read port %q", n.Value)
	}
	return err
}

// environment is a mapping or a list of KEY=VALUE.
type environment map[string]string

func (e *environment) UnmarshalYAML(n *yaml.Node) error {
	*e = environment{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = v
		}
		return nil
	}
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		return err
	}
	for k, v := range m {
		if v == nil {
			(*e)[k] = ""
		} else {
			(*e)[k] = fmt.Sprint(v)
		}
	}
	return nil
}

// command is a string or a list of strings.
type command []string

func (c *command) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*c = strings.Fields(n.Value)
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*c = list
	return nil
}

// dependsOn maps each dependency to its condition (service_started for the list form).
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = dependsOn{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, s := range list {
			(*d)[s] = "service_started"
		}
		return nil
	}
	var m map[string]struct {
		Condition string `yaml:"condition"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	for k, v := range m {
		(*d)[k] = v.Condition
	}
	return nil
}

func (d dependsOn) Names() []string { return sortedKeys(d) }

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.Unmarshal([]byte(readFile(t, composePath)), &c); err != nil {
		t.Fatalf("parse %s: %v", composePath, err)
	}
	if len(c.Services) == 0 {
		t.Fatalf("%s has no services", composePath)
	}
	return c
}

// flagValue finds --flag=value or --flag value in a command.
func flagValue(cmd []string, flag string) string {
	for i, a := range cmd {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
		if a == flag && i+1 < len(cmd) {
			return cmd[i+1]
		}
	}
	return ""
}

// volumeAt returns the source of the volume mounted at target ("SOURCE:TARGET[:MODE]").
func volumeAt(volumes []string, target string) string {
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && filepath.Clean(parts[1]) == filepath.Clean(target) {
			return parts[0]
		}
	}
	return ""
}

// toolsPath is the script that installs the Monero the tests and `make run` run.
const toolsPath = "../scripts/tools.sh"

// moneroPinArg is the Dockerfile ARG that pins Debian's monero package.
const moneroPinArg = "MONERO_DEB_VERSION"

// TestTheImagesRunTheMoneroTheTestsRun: the images cannot be built here (no Docker engine),
// so the pin is checked. One ARG MONERO_DEB_VERSION, in one stage of one Dockerfile, names
// Debian's monero package, and it is scripts/tools.sh's MONERO_DEB_VERSION, the build the
// tests run (walletproc.MoneroVersion, at least activities.RequiredRelease, which the worker
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
	if activities.CompareRelease("v"+upstream, activities.RequiredRelease) < 0 {
		t.Errorf("Monero %s is older than %s, which the worker requires", upstream, activities.RequiredRelease)
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
