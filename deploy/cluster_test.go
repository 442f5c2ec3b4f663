package deploy

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// Paths of the cluster's own files, from this package's directory.
const (
	clusterConfigPath = "temporal/config/xmr-escrow.yaml"
	dockerfilePath    = "worker.Dockerfile"
	// scriptMount is where the compose services find deploy/temporal.
	scriptMount = "/etc/xmr-escrow/temporal"
)

// temporalService names a cluster service's compose service: temporal-history.
func temporalService(s string) string { return "temporal-" + s }

// TestComposeRunsTheClusterTheTestsRun: the compose stack's Temporal services are the four
// processes devstack.StartCluster runs (integration/cluster_test.go): the same server
// release, started by the same script on the same configuration, given the same variables,
// with the ports the configuration defaults to (so a compose port and the config agree); and the images' bootstrap is the tests'.
func TestComposeRunsTheClusterTheTestsRun(t *testing.T) {
	c := loadCompose(t)
	release := strings.TrimPrefix(TemporalServerVersion, "v")
	defaults := configDefaults(t)
	want := TemporalEnvNames()
	for _, svc := range TemporalServices {
		name := temporalService(svc)
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("no %s service: the cluster runs %v as separate services", name, TemporalServices)
			continue
		}
		if s.Image != "temporalio/server:"+release {
			t.Errorf("%s runs %q, the tests run temporalio/server %s (deploy.TemporalServerVersion)", name, s.Image, release)
		}
		if got := strings.Join(append(append(command{}, s.Entrypoint...), s.Command...), " "); got != "/bin/sh "+scriptMount+"/start-service.sh "+svc {
			t.Errorf("%s runs %q; it must run start-service.sh %s as the tests do", name, got, svc)
		}
		if volumeAt(s.Volumes, scriptMount) != "./deploy/temporal" {
			t.Errorf("%s does not mount ./deploy/temporal at %s", name, scriptMount)
		}
		got := slices.Sorted(maps.Keys(s.Environment))
		// BIND_ON_IP: start-service.sh takes the container's own address when it is unset.
		wantHere := slices.DeleteFunc(slices.Clone(want), func(v string) bool { return v == EnvBindOnIP })
		if !slices.Equal(got, wantHere) {
			t.Errorf("%s is given %v; the tests' cluster gives every service %v (deploy.TemporalEnvNames)", name, got, wantHere)
		}
		for k, v := range s.Environment {
			if d, ok := defaults[k]; ok && strings.HasSuffix(k, "_PORT") && d != v {
				t.Errorf("%s sets %s=%s, the configuration's default (what the template falls back to) is %s", name, k, v, d)
			}
		}
		if s.DependsOn["temporal-schema"] != "service_completed_successfully" {
			t.Errorf("%s may start before temporal-schema has made the databases", name)
		}
	}
	if p := c.Services[temporalService("frontend")].Ports; len(p) != 1 || p[0].Target != 7233 {
		t.Errorf("the frontend publishes %v; it should publish its gRPC port 7233 on loopback only", p)
	}
	for _, svc := range TemporalServices[1:] {
		if p := c.Services[temporalService(svc)].Ports; len(p) > 0 {
			t.Errorf("%s publishes %v; only the frontend is for clients", temporalService(svc), p)
		}
	}
}

// TestComposeBootstrapsAsTheTestsDo: the two one-shot jobs run cmd/temporal-bootstrap's
// database and namespace steps (which register escrow.SearchAttributeTypes by code, so no
// list here can drift), on the admin-tools image of the cluster's release, and everything
// that needs the namespace waits for it.
func TestComposeBootstrapsAsTheTestsDo(t *testing.T) {
	c := loadCompose(t)
	for name, step := range map[string]string{"temporal-schema": "database", "temporal-namespace": "namespace"} {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("no %s service", name)
			continue
		}
		if got := strings.Join(s.Command, " "); got != "temporal-bootstrap "+step {
			t.Errorf("%s runs %q, want `temporal-bootstrap %s`", name, got, step)
		}
	}
	schema := c.Services["temporal-schema"]
	if schema.Build == nil || schema.Build.Target != "temporal-bootstrap" {
		t.Errorf("temporal-schema is not built from the temporal-bootstrap stage")
	}
	for _, k := range []string{EnvDBHost, EnvDBPort, EnvDBUser, EnvDBPassword, EnvDBName, EnvVisibilityDB} {
		if schema.Environment[k] == "" {
			t.Errorf("temporal-schema is not given %s", k)
		} else if schema.Environment[k] != c.Services[temporalService("history")].Environment[k] {
			t.Errorf("temporal-schema's %s differs from the cluster's", k)
		}
	}
	from := ""
	for _, st := range stages(t, dockerfilePath) {
		if st.name == "temporal-bootstrap" {
			from = st.from
		}
	}
	if !strings.HasPrefix(from, "temporalio/admin-tools:"+strings.TrimPrefix(TemporalServerVersion, "v")+"-") {
		t.Errorf("the temporal-bootstrap stage is FROM %q; its temporal-sql-tool must be release %s's", from, TemporalServerVersion)
	}
	if got := shellAssignments(t, toolsPath)["TEMPORAL_SERVER_VERSION"]; got != TemporalServerVersion {
		t.Errorf("scripts/tools.sh builds the tests' server %s, deploy.TemporalServerVersion is %s", got, TemporalServerVersion)
	}
	for _, name := range []string{"worker", "temporal-ui"} {
		if c.Services[name].DependsOn["temporal-namespace"] != "service_completed_successfully" {
			t.Errorf("%s may start before the namespace and its search attributes exist", name)
		}
	}
}

// TestComposeClientsUseMTLS: every client of the frontend presents its own certificate from
// the cluster's CA and checks the cluster's name.
func TestComposeClientsUseMTLS(t *testing.T) {
	c := loadCompose(t)
	for name, vars := range map[string][3]string{
		"worker":             {"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH"},
		"temporal-namespace": {"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH"},
		"temporal-ui":        {"TEMPORAL_TLS_CA", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY"},
	} {
		env := c.Services[name].Environment
		for _, v := range vars {
			if !strings.HasPrefix(env[v], "/etc/xmr-escrow/certs/") {
				t.Errorf("%s: %s=%q, want a file under /etc/xmr-escrow/certs", name, v, env[v])
			}
		}
		if !strings.Contains(env[vars[1]], "client-") {
			t.Errorf("%s presents %s, not a client certificate of its own", name, env[vars[1]])
		}
	}
}

// TestComposeNetworksSplit: monerod's RPC is reachable only from the worker (its wallet-rpcs
// and the block watcher); the worker's metrics sit on an internal network, unpublished;
// the codec server shares a network with nobody.
func TestComposeNetworksSplit(t *testing.T) {
	c := loadCompose(t)
	on := func(net string) []string {
		var out []string
		for _, name := range sortedKeys(c.Services) {
			if slices.Contains(c.Services[name].Networks, net) {
				out = append(out, name)
			}
		}
		return out
	}
	for _, name := range sortedKeys(c.Services) {
		if len(c.Services[name].Networks) == 0 {
			t.Errorf("%s is on the default network, which every service could share; name its networks", name)
		}
	}
	for _, net := range c.Services["monerod"].Networks {
		if got := on(net); !slices.Equal(got, []string{"monerod", "worker"}) {
			t.Errorf("network %s (monerod's) joins %v; only monerod and worker may", net, got)
		}
	}
	for _, net := range c.Services["codec-server"].Networks {
		if got := on(net); len(got) != 1 {
			t.Errorf("the codec server shares network %s with %v", net, got)
		}
	}
	w := c.Services["worker"]
	if got := w.Environment["XMR_ESCROW_DAEMON_URL"]; got != "http://monerod:18081" {
		t.Errorf("the worker's block watcher follows %q, want the stack's monerod http://monerod:18081", got)
	}
	if !slices.Contains(w.Networks, "metrics") || !metricsInternal(t) {
		t.Errorf("the worker's metrics need the internal metrics network")
	}
	if got := w.Environment["XMR_ESCROW_METRICS_LISTEN"]; !strings.HasSuffix(got, ":9090") || strings.HasPrefix(got, "127.") {
		t.Errorf("XMR_ESCROW_METRICS_LISTEN=%q: on loopback nothing outside the container can scrape it", got)
	}
	if len(w.Ports) > 0 {
		t.Errorf("the worker publishes %v; its metrics are for the metrics network only", w.Ports)
	}
	if !strings.Contains(readFile(t, composePath), "XMR_ESCROW_CODEC_TOKEN: ${XMR_ESCROW_CODEC_TOKEN:?") {
		t.Errorf("the codec server's token is not required (${XMR_ESCROW_CODEC_TOKEN:?...})")
	}
}

func metricsInternal(t *testing.T) bool {
	var f struct {
		Networks map[string]struct {
			Internal bool `yaml:"internal"`
		} `yaml:"networks"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, composePath)), &f); err != nil {
		t.Fatal(err)
	}
	return f.Networks["metrics"].Internal
}

// configDefaults reads `{{ env "NAME" | default "VALUE" }}` from the cluster configuration.
func configDefaults(t *testing.T) map[string]string {
	re := regexp.MustCompile(`env "([A-Z_]+)" \| default "([^"]*)"`)
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(readFile(t, clusterConfigPath), -1) {
		out[m[1]] = m[2]
	}
	if len(out) < 10 {
		t.Fatalf("read only %d defaults from %s", len(out), clusterConfigPath)
	}
	return out
}
