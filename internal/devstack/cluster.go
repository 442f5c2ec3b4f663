package devstack

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/lib/pq"

	"github.com/xmr-escrow/xmr-escrow/deploy"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/bootstrap"
	"github.com/xmr-escrow/xmr-escrow/internal/temporalclient"
	"github.com/xmr-escrow/xmr-escrow/internal/walletproc"
)

// ClusterServices are the Temporal services, each its own process, in start order.
var ClusterServices = deploy.TemporalServices

// ClusterServerName is the name on the cluster's certificate that clients check; the
// compose stack's certificates carry it too.
const ClusterServerName = "temporal"

// Timings of the cluster: four processes on a loaded 2-core machine start slowly.
const (
	clusterStartTimeout = 3 * time.Minute
	clusterStopGrace    = 15 * time.Second
)

// ClusterOptions shapes a production-shaped Temporal cluster on this machine.
type ClusterOptions struct {
	// Dir holds its certificates, configuration and logs (required).
	Dir string
	// PostgresURL is a PostgreSQL server URL whose role may create databases (required);
	// the cluster makes its two databases there and drops them at Stop.
	PostgresURL string
	// Namespace is bootstrapped at start; default "default".
	Namespace string
	// Clients are the names to issue client certificates to (ClientOptions takes one).
	Clients []string
}

// Cluster is a running Temporal cluster: frontend, history, matching and worker as four
// processes of the server release the images run, on loopback, on PostgreSQL persistence
// and visibility, with mTLS between the services and on the frontend. It runs the compose
// stack's own configuration, scripts and bootstrap (deploy.TemporalFiles, internal/bootstrap).
type Cluster struct {
	// HostPort is the frontend's gRPC address; ServerName is on its certificate.
	HostPort, ServerName string
	// Namespace was bootstrapped at start.
	Namespace string
	// Database is the bootstrap's view of the two databases.
	Database bootstrap.Database
	// CertDir holds ca.pem, cluster.pem and the clients' certificates.
	CertDir string
	// Services are the running processes, by service name.
	Services map[string]*walletproc.Process
	// BootstrapSteps is what the namespace bootstrap did at start.
	BootstrapSteps []bootstrap.Step

	root, dir, adminURL string
	env                 map[string]string // every service's environment
}

// StartCluster makes the certificates (certs.sh), the databases and schemas (the bootstrap's
// database step), starts the four services (start-service.sh) and bootstraps the namespace
// and search attributes through the frontend's mTLS. On error it stops what it started.
func StartCluster(ctx context.Context, o ClusterOptions) (_ *Cluster, err error) {
	if o.Dir == "" || o.PostgresURL == "" {
		return nil, errors.New("start cluster: Dir and PostgresURL are required")
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	binDir, err := TemporalServerBinDir()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, clusterStartTimeout)
	defer cancel()
	c := &Cluster{ServerName: ClusterServerName, Namespace: o.Namespace, dir: o.Dir, adminURL: o.PostgresURL,
		Services: map[string]*walletproc.Process{}, CertDir: filepath.Join(o.Dir, "certs")}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if c.root, err = writeTemporalFiles(o.Dir); err != nil {
		return nil, err
	}
	if err = makeCerts(ctx, c.root, c.CertDir, c.ServerName, append([]string{"bootstrap"}, o.Clients...)...); err != nil {
		return nil, err
	}
	if c.Database, err = clusterDatabase(o.PostgresURL, filepath.Join(binDir, "temporal-sql-tool")); err != nil {
		return nil, err
	}
	if _, err = bootstrap.SetUpDatabases(ctx, c.Database); err != nil {
		return nil, err
	}
	if c.env, err = c.serviceEnv(binDir); err != nil {
		return nil, err
	}
	// The frontend first: on an empty database the first service to start writes the
	// cluster's metadata, and four writing at once can fail all but one (compose's restart
	// policy covers that there; here the others start once the frontend answers).
	if err = c.Start(ctx, "frontend"); err != nil {
		return nil, err
	}
	oc, err := c.dialFrontend(ctx)
	if err != nil {
		return nil, err
	}
	oc.Close()
	for _, s := range ClusterServices[1:] {
		if err = c.Start(ctx, s); err != nil {
			return nil, err
		}
	}
	steps, err := c.BootstrapNamespace(ctx)
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	c.BootstrapSteps = steps
	return c, nil
}

// BootstrapNamespace runs the bootstrap's namespace step, as the compose stack's job does,
// with the "bootstrap" client certificate.
func (c *Cluster) BootstrapNamespace(ctx context.Context) ([]bootstrap.Step, error) {
	attrs, err := bootstrap.AttributeTypes(escrow.SearchAttributeTypes)
	if err != nil {
		return nil, err
	}
	oc, err := c.dialFrontend(ctx)
	if err != nil {
		return nil, err
	}
	defer oc.Close()
	return bootstrap.SetUpNamespace(ctx, oc, bootstrap.Namespace{Name: c.Namespace, Retention: escrow.MinRetention, SearchAttributes: attrs})
}

// dialFrontend dials with the bootstrap's certificate until the frontend answers. A service
// that exits meanwhile fails it at once, with the tail of its log.
func (c *Cluster) dialFrontend(ctx context.Context) (temporalclient.OperatorClient, error) {
	for {
		oc, err := temporalclient.DialOperator(ctx, c.ClientOptions("bootstrap"))
		if err == nil {
			return oc, nil
		}
		for name, p := range c.Services {
			if p.Exited() {
				return nil, fmt.Errorf("temporal %s exited: %v\n--- tail of %s ---\n%s", name, p.ExitErr(), p.LogPath, p.LogTail(logTailBytes))
			}
		}
		if temporalclient.IsTLSRefused(err) || ctx.Err() != nil {
			return nil, fmt.Errorf("dial the frontend: %w\n--- tail of its log ---\n%s", err, c.Services["frontend"].LogTail(logTailBytes))
		}
		time.Sleep(temporalPollInterval)
	}
}

// Start starts one service (again, after Kill) with the environment the others have.
func (c *Cluster) Start(ctx context.Context, service string) error {
	env := make([]string, 0, len(c.env))
	for _, k := range slices.Sorted(maps.Keys(c.env)) {
		env = append(env, k+"="+c.env[k])
	}
	env = append(env, deploy.EnvPrometheusPort+"="+c.env[deploy.PortVar(service, "PROMETHEUS")])
	p, err := walletproc.StartProcessEnv(ctx, "temporal-"+service, "/bin/sh", []string{filepath.Join(c.root, "start-service.sh"), service},
		filepath.Join(c.dir, "logs", service+".log"), c.root, env)
	if err != nil {
		return fmt.Errorf("start temporal %s: %w", service, err)
	}
	c.Services[service] = p
	return nil
}

// Kill ends one service at once (SIGKILL), as a crashed host would.
func (c *Cluster) Kill(service string) error {
	p, ok := c.Services[service]
	if !ok {
		return fmt.Errorf("kill temporal %s: not running", service)
	}
	delete(c.Services, service)
	return p.Kill()
}

// Stop stops every service and drops the cluster's two databases.
func (c *Cluster) Stop() {
	for _, s := range slices.Backward(ClusterServices) {
		if p, ok := c.Services[s]; ok {
			_ = p.Stop(clusterStopGrace)
			delete(c.Services, s)
		}
	}
	if c.Database.Persistence != "" {
		dropClusterDatabases(c.adminURL, c.Database.Persistence, c.Database.Visibility)
	}
}

// ClientOptions are a client's connection to the cluster with name's certificate.
func (c *Cluster) ClientOptions(name string) temporalclient.Options {
	cc := certsIn(c.CertDir, name)
	// IgnoreEnvironment: a developer's TEMPORAL_* settings must not reach the tests' cluster.
	return temporalclient.Options{HostPort: c.HostPort, Namespace: c.Namespace, IgnoreEnvironment: true,
		TLS: temporalclient.TLS{CACert: cc.CA, ClientCert: cc.Cert, ClientKey: cc.Key, ServerName: c.ServerName}}
}

// serviceEnv picks the ports and builds the services' environment. Membership ports come
// from FreePort's band, below 32768: the membership table stores them as a smallint.
func (c *Cluster) serviceEnv(binDir string) (map[string]string, error) {
	env := map[string]string{
		deploy.EnvBindOnIP: "127.0.0.1", deploy.EnvLogLevel: "warn",
		deploy.EnvDBHost: c.Database.Host, deploy.EnvDBPort: c.Database.Port, deploy.EnvDBUser: c.Database.User,
		deploy.EnvDBPassword: c.Database.Password, deploy.EnvDBName: c.Database.Persistence, deploy.EnvVisibilityDB: c.Database.Visibility,
		deploy.EnvServerCA: filepath.Join(c.CertDir, "ca.pem"), deploy.EnvServerCert: filepath.Join(c.CertDir, "cluster.pem"),
		deploy.EnvServerKey: filepath.Join(c.CertDir, "cluster.key"), deploy.EnvServerName: c.ServerName,
		// Only the tests' addition: where temporal-server is (the image has it on PATH).
		"PATH": binDir + string(os.PathListSeparator) + os.Getenv("PATH"),
	}
	for _, s := range ClusterServices {
		for _, kind := range []string{"GRPC", "MEMBERSHIP", "PROMETHEUS"} { // PROMETHEUS: Start picks it
			p, err := walletproc.FreePort()
			if err != nil {
				return nil, err
			}
			env[deploy.PortVar(s, kind)] = strconv.Itoa(p)
		}
	}
	p, err := walletproc.FreePort()
	if err != nil {
		return nil, err
	}
	env[deploy.PortVar("frontend", "HTTP")] = strconv.Itoa(p)
	c.HostPort = "127.0.0.1:" + env[deploy.PortVar("frontend", "GRPC")]
	env[deploy.EnvFrontendAddress] = c.HostPort
	return env, nil
}

// clusterDatabase names two fresh databases on the server at adminURL.
func clusterDatabase(adminURL, sqlTool string) (bootstrap.Database, error) {
	u, err := url.Parse(adminURL)
	if err != nil || u.Host == "" {
		return bootstrap.Database{}, fmt.Errorf("start cluster: %q is not a postgres:// server URL", adminURL)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return bootstrap.Database{}, err
	}
	suffix := hex.EncodeToString(b[:])
	pw, _ := u.User.Password()
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	return bootstrap.Database{Host: u.Hostname(), Port: port, User: u.User.Username(), Password: pw,
		Persistence: "temporal_test_" + suffix, Visibility: "temporal_visibility_test_" + suffix, SQLTool: sqlTool}, nil
}

// dropClusterDatabases removes the cluster's databases, forcing out connections a killed
// service left behind.
func dropClusterDatabases(adminURL string, names ...string) {
	db, err := sql.Open("postgres", adminURL)
	if err != nil {
		return
	}
	defer func() { _ = db.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range names {
		_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(n)+" WITH (FORCE)")
	}
}
