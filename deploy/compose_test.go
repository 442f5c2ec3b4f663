package deploy

import (
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

	yaml "go.yaml.in/yaml/v3"
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
	// The tests' monerod (devstack) takes the same connections: below them, a wallet made while
	// monerod turns the wallet-rpc away scans from a guessed height.
	limits := MonerodConnectionArgs(MonerodRPCConnections)
	for i := 0; i+1 < len(limits); i += 2 {
		if got := flagValue(d.Command, limits[i]); got != limits[i+1] {
			t.Errorf("%s's command has %s %q, want %q (MonerodRPCConnections, what the tests' monerod takes)", host, limits[i], got, limits[i+1])
		}
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
