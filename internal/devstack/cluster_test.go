package devstack

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/deploy"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/bootstrap"
	"github.com/xmr-escrow/xmr-escrow/internal/store/storetest"
	"github.com/xmr-escrow/xmr-escrow/internal/temporalclient"
	"github.com/xmr-escrow/xmr-escrow/internal/walletproc/proctest"
)

// TestTheClusterGivesEveryServiceTheComposeVariables: the environment the tests' services
// get is deploy.TemporalEnvNames (which deploy/cluster_test.go holds the compose file to),
// plus PATH, to find the server the image has on its own PATH.
func TestTheClusterGivesEveryServiceTheComposeVariables(t *testing.T) {
	c := &Cluster{ServerName: ClusterServerName, CertDir: t.TempDir()}
	env, err := c.serviceEnv("/nonexistent")
	require.NoError(t, err)
	var names []string
	for k := range maps.Keys(env) {
		if k != "PATH" && !strings.HasSuffix(k, "_PROMETHEUS_PORT") {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	assert.Equal(t, deploy.TemporalEnvNames(), names)
	for _, s := range ClusterServices {
		p, err := strconv.Atoi(env[deploy.PortVar(s, "MEMBERSHIP")])
		require.NoError(t, err)
		assert.LessOrEqual(t, p, 32767, "%s: the membership table stores a smallint", s)
	}
}

// TestTheClusterRefusesClientsWithoutItsCertificate: plaintext, TLS without a client
// certificate, and a certificate from another CA are refused at the handshake, the error
// saying what to set; the client's own certificate is accepted. The bootstrap, run twice
// more, changes nothing.
func TestTheClusterRefusesClientsWithoutItsCertificate(t *testing.T) {
	proctest.SkipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	started := time.Now()
	cluster, err := StartCluster(ctx, ClusterOptions{Dir: t.TempDir(), PostgresURL: storetest.ServerDSN(), Clients: []string{"starter"}})
	require.NoError(t, err, "start the Temporal cluster (make test builds the server; PostgreSQL must answer)")
	defer cluster.Stop()
	t.Logf("cluster ready in %.1fs; first bootstrap: %v", time.Since(started).Seconds(), cluster.BootstrapSteps)

	plain := temporalclient.Options{HostPort: cluster.HostPort, Namespace: cluster.Namespace, IgnoreEnvironment: true}
	_, err = temporalclient.DialOperator(ctx, plain)
	require.Error(t, err, "plaintext is refused")
	t.Logf("plaintext: %v", err)
	noCert := cluster.ClientOptions("starter")
	noCert.TLS.ClientCert, noCert.TLS.ClientKey = "", ""
	_, err = temporalclient.DialOperator(ctx, noCert)
	require.ErrorIs(t, err, temporalclient.ErrTLSRefused, "TLS without a client certificate is refused")
	assert.Contains(t, err.Error(), temporalclient.EnvTLSCert, "the error says what to set")

	other, err := cluster.OtherCA(ctx, filepath.Join(t.TempDir(), "other-ca"), "intruder")
	require.NoError(t, err)
	foreign := cluster.ClientOptions("starter")
	foreign.TLS.ClientCert, foreign.TLS.ClientKey = other.Cert, other.Key
	_, err = temporalclient.DialOperator(ctx, foreign)
	require.ErrorIs(t, err, temporalclient.ErrTLSRefused, "a certificate from another CA is refused")

	good, err := temporalclient.DialOperator(ctx, cluster.ClientOptions("starter"))
	require.NoError(t, err, "the starter's own certificate is accepted")
	good.Close()

	assert.NotEmpty(t, changed(cluster.BootstrapSteps), "the first bootstrap registered the namespace's attributes")
	for run := 2; run <= 3; run++ {
		dbSteps, err := bootstrap.SetUpDatabases(ctx, cluster.Database)
		require.NoError(t, err)
		nsSteps, err := cluster.BootstrapNamespace(ctx)
		require.NoError(t, err)
		all := append(dbSteps, nsSteps...)
		assert.Len(t, all, 2+1+len(escrow.SearchAttributeTypes), "bootstrap run %d checked both databases, the namespace and every attribute", run)
		assert.Empty(t, changed(all), "bootstrap run %d changed nothing", run)
	}
}

func changed(steps []bootstrap.Step) []string {
	var out []string
	for _, s := range steps {
		if s.Changed {
			out = append(out, s.String())
		}
	}
	return out
}
