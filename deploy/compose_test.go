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

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/activities"
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

// TestComposeSearchAttributes: the one-shot admin service registers exactly the workflow's
// search attributes, with their types.
func TestComposeSearchAttributes(t *testing.T) {
	c := loadCompose(t)
	re := regexp.MustCompile(`--name[ =]+(\S+)\s+(?:\\\s+)?--type[ =]+(\S+)`)
	var registrar string
	got := map[string]string{}
	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		script := strings.Join(append(s.Entrypoint, s.Command...), " ")
		if !strings.Contains(script, "search-attribute create") {
			continue
		}
		if registrar != "" {
			t.Errorf("both %s and %s register search attributes", registrar, name)
		}
		registrar = name
		if !slices.ContainsFunc(s.DependsOn.Names(), func(d string) bool { return d == "temporal" }) {
			t.Errorf("%s registers search attributes but does not wait for the temporal service", name)
		}
		for _, m := range re.FindAllStringSubmatch(script, -1) {
			got[m[1]] = m[2]
		}
	}
	if registrar == "" {
		t.Fatal("no service runs `temporal operator search-attribute create`")
	}
	for name, typ := range escrow.SearchAttributeTypes {
		if got[name] != typ {
			t.Errorf("%s registers %s as %q, escrow.SearchAttributeTypes says %q", registrar, name, got[name], typ)
		}
	}
	for name := range got {
		if _, ok := escrow.SearchAttributeTypes[name]; !ok {
			t.Errorf("%s registers %s, which escrow.SearchAttributeTypes does not have", registrar, name)
		}
	}
	if d := c.Services["worker"].DependsOn[registrar]; d != "service_completed_successfully" {
		t.Errorf("the worker starts before %s has registered the search attributes (depends_on condition %q)", registrar, d)
	}
}

// TestComposeFilesExist: build contexts, Dockerfiles, the files they COPY from the context,
// bind-mounted host paths, and Temporal's dynamic config file.
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

	tmp := c.Services["temporal"]
	dc := tmp.Environment["DYNAMIC_CONFIG_FILE_PATH"]
	if dc == "" {
		t.Fatal("the temporal service sets no DYNAMIC_CONFIG_FILE_PATH")
	}
	target := filepath.Join("/etc/temporal", dc) // relative paths are from the server's home
	if filepath.IsAbs(dc) {
		target = dc
	}
	found := false
	for _, v := range tmp.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || !strings.HasPrefix(target, parts[1]+"/") {
			continue
		}
		found = true
		host := filepath.Join(base, parts[0], strings.TrimPrefix(target, parts[1]+"/"))
		var doc map[string][]struct {
			Value any `yaml:"value"`
		}
		if err := yaml.Unmarshal([]byte(readFile(t, host)), &doc); err != nil {
			t.Errorf("dynamic config %s: %v", host, err)
		} else if len(doc) == 0 {
			t.Errorf("dynamic config %s is empty", host)
		}
	}
	if !found {
		t.Errorf("the temporal service mounts nothing at %s (DYNAMIC_CONFIG_FILE_PATH)", filepath.Dir(target))
	}
}

// TestComposeWorkerSeesWalletDirs: each wallet-rpc the worker is given is a service of the
// file, and the worker's dir for it is the same volume that service uses as --wallet-dir
// (round snapshots are file copies next to the wallet), with the same rpc login user.
func TestComposeWorkerSeesWalletDirs(t *testing.T) {
	c := loadCompose(t)
	w, ok := c.Services["worker"]
	if !ok {
		t.Fatal("no worker service")
	}
	specs := strings.Split(w.Environment["XMR_ESCROW_WALLET_RPCS"], ";")
	n := 0
	for _, spec := range specs {
		if strings.TrimSpace(spec) == "" {
			continue
		}
		n++
		kv := map[string]string{}
		for _, part := range strings.Split(spec, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			kv[k] = v
		}
		host := strings.TrimPrefix(kv["url"], "http://")
		host, _, _ = strings.Cut(host, ":")
		rpc, ok := c.Services[host]
		if !ok {
			t.Errorf("worker instance %s points at %s, which is not a service", kv["name"], kv["url"])
			continue
		}
		walletDir := flagValue(rpc.Command, "--wallet-dir")
		if walletDir == "" {
			t.Errorf("%s runs without --wallet-dir", host)
			continue
		}
		rpcVolume := volumeAt(rpc.Volumes, walletDir)
		workerVolume := volumeAt(w.Volumes, kv["dir"])
		if rpcVolume == "" || rpcVolume != workerVolume {
			t.Errorf("worker instance %s: dir %s is volume %q in the worker, but %s keeps its wallets (%s) in %q",
				kv["name"], kv["dir"], workerVolume, host, walletDir, rpcVolume)
		}
		login := flagValue(rpc.Command, "--rpc-login")
		if user, _, _ := strings.Cut(login, ":"); user != kv["user"] {
			t.Errorf("worker instance %s logs in as %q, %s expects %q", kv["name"], kv["user"], host, user)
		}
		if pf := kv["password-file"]; pf != "" && !slices.ContainsFunc(w.Tmpfs, func(m string) bool {
			dir, _, _ := strings.Cut(m, ":")
			return strings.HasPrefix(pf, dir+"/")
		}) {
			t.Errorf("worker instance %s reads its password from %s, which is not on the worker's tmpfs", kv["name"], pf)
		}
		if _, ok := w.DependsOn[host]; !ok {
			t.Errorf("the worker does not wait for %s", host)
		}
	}
	if n != 3 {
		t.Errorf("the worker is given %d wallet-rpc instances, want 3 (one per role)", n)
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
}

// build is `build: DIR` or `build: {context, dockerfile}`.
type build struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
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

// walletRPCDockerfile builds the monerod and wallet-rpc image.
const walletRPCDockerfile = "wallet-rpc.Dockerfile"

// minMoneroRelease is the oldest release the production image may pin: 0.18.5.1 writes
// nonce erasure to disk before sign_multisig returns (docs/design.md, "Later Monero releases").
const minMoneroRelease = "0.18.5.1"

// TestWalletRPCImagePinsAMoneroRelease: the image cannot be built here (no Docker, no
// download), so the pin's form is checked: an official release of at least 0.18.5.1 from
// downloads.getmonero.org, each archive's SHA-256 pinned as 64 hex digits and checked with
// sha256sum -c before anything is unpacked, and not Debian's 0.18.0.0 package.
func TestWalletRPCImagePinsAMoneroRelease(t *testing.T) {
	args := map[string]string{}
	var runs []string
	for _, ins := range instructions(t, walletRPCDockerfile) {
		kw, rest, _ := strings.Cut(ins, " ")
		switch strings.ToUpper(kw) {
		case "ARG":
			name, value, _ := strings.Cut(strings.TrimSpace(rest), "=")
			args[name] = value
		case "RUN":
			runs = append(runs, rest)
		}
	}
	version := args["MONERO_VERSION"]
	if !regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`).MatchString(version) {
		t.Fatalf("ARG MONERO_VERSION=%q is not a release number such as %s", version, minMoneroRelease)
	}
	if activities.CompareRelease(version, minMoneroRelease) < 0 {
		t.Errorf("MONERO_VERSION %s is older than %s, which the money rules rely on", version, minMoneroRelease)
	}
	hexSHA := regexp.MustCompile(`^[0-9a-f]{64}$`)
	var shaArgs []string
	for _, name := range sortedKeys(args) {
		if strings.HasPrefix(name, "MONERO_SHA256") {
			shaArgs = append(shaArgs, name)
			if !hexSHA.MatchString(args[name]) {
				t.Errorf("ARG %s=%q is not a SHA-256 (64 lowercase hex digits)", name, args[name])
			}
		}
	}
	if len(shaArgs) == 0 {
		t.Fatal("no ARG MONERO_SHA256…: the release archive is not pinned by checksum")
	}
	var install string
	for _, r := range runs {
		if strings.Contains(r, "downloads.getmonero.org/cli/") {
			install = r
		}
		if m := regexp.MustCompile(`apt-get install[^;&]*\smonero(\s|;|&|$)`).FindString(r); m != "" {
			t.Errorf("installs Debian's monero package (0.18.0.0): %q", m)
		}
	}
	if install == "" {
		t.Fatal("no RUN downloads the release from https://downloads.getmonero.org/cli/")
	}
	for _, want := range []string{"https://downloads.getmonero.org/cli/", "v${MONERO_VERSION}.tar.bz2", "curl -f", "sha256sum -c"} {
		if !strings.Contains(install, want) {
			t.Errorf("the install step lacks %q", want)
		}
	}
	for _, name := range shaArgs {
		if !strings.Contains(install, "$"+name) && !strings.Contains(install, "${"+name+"}") {
			t.Errorf("the install step never checks %s", name)
		}
	}
	if check, unpack := strings.Index(install, "sha256sum -c"), strings.Index(install, "tar -x"); unpack < 0 || check > unpack {
		t.Error("the archive must be checked with sha256sum -c before tar unpacks it")
	}
	if !strings.HasPrefix(strings.TrimSpace(install), "set -eu") && !strings.Contains(install, "&&") {
		t.Error("the install step must stop at the first failure (set -eu), or a failed check would not fail the build")
	}
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
