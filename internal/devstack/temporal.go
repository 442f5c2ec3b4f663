package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/searchattr"
	"github.com/xmr-escrow/xmr-escrow/internal/walletproc"
)

// Timings for the dev server; it needs several seconds to start, far more on
// a loaded 2-core machine.
const (
	temporalStartTimeout = 120 * time.Second
	temporalStopGrace    = 30 * time.Second
	temporalProbeTimeout = 5 * time.Second
	temporalPollInterval = 250 * time.Millisecond
	// temporalStartAttempts covers the rare case where a port we picked was
	// taken by someone else before the server bound it.
	temporalStartAttempts = 3
	logTailBytes          = 4000
)

// TemporalOptions configures a local Temporal CLI dev server.
type TemporalOptions struct {
	// Dir is the data dir: the SQLite db file and the log live here (required).
	Dir string
	// Port is the frontend gRPC port; 0 picks a free one.
	Port int
	// UIPort is the Web UI port; 0 picks a free one (ignored when Headless).
	UIPort int
	// HTTPPort is the frontend HTTP API port; 0 picks a free one.
	HTTPPort int
	// MetricsPort is the Prometheus /metrics port; 0 picks a free one.
	MetricsPort int
	// Namespace is created at start and used for readiness checks; default "default".
	Namespace string
	// SearchAttributes maps name to type ("Keyword", "Int", ...), registered at start.
	SearchAttributes map[string]string
	// CodecEndpoint is the codec server URL the Web UI calls to decode payloads (optional).
	CodecEndpoint string
	// Headless disables the Web UI.
	Headless bool
	// LogLevel is the server log level (debug, info, warn, error, never); default "warn".
	LogLevel string
	// DynamicConfig sets dynamic config keys to JSON values (--dynamic-config-value KEY=VALUE).
	DynamicConfig map[string]string
	// SQLitePragmas are the dev server database's pragmas (--sqlite-pragma NAME=VALUE); nil
	// means DefaultSQLitePragmas, an empty map SQLite's own defaults.
	SQLitePragmas map[string]string
}

// DefaultSQLitePragmas put the dev server's SQLite file in write-ahead-log mode, synced at
// checkpoints: every workflow step is a few small transactions, and SQLite's default (a
// rollback journal synced on every commit) makes each of them wait on the disk. A crash of
// the server process loses nothing committed; a power cut may lose the last transactions,
// which a local stack can afford and a production cluster does not run on anyway.
var DefaultSQLitePragmas = map[string]string{"journal_mode": "WAL", "synchronous": "NORMAL"}

// Temporal is a running dev server.
type Temporal struct {
	// HostPort is the frontend gRPC address for client.Dial.
	HostPort string
	// UIURL is the Web UI base URL ("" when headless).
	UIURL string
	// Namespace is the namespace created at start.
	Namespace string
	// Proc is the server process.
	Proc *Process
	// GRPCPort, UIPort, HTTPPort and MetricsPort are every port the server listens on by our choice.
	GRPCPort, UIPort, HTTPPort, MetricsPort int
	// Dir is the data dir.
	Dir string
	// DBPath is the SQLite file; it survives Stop, so a restart on the same Dir keeps history.
	DBPath string
	// LogPath is the server's log file.
	LogPath string

	opts TemporalOptions // what it was started with, for Restart
}

// StartTemporal starts `temporal server start-dev` on 127.0.0.1 with all its
// ports chosen by us and waits, up to 120 s, until the frontend is healthy, the
// namespace exists with a retention of at least escrow.MinRetention (what the worker's
// namespace check wants) and the search attributes are registered.
//
// It is not the SDK's testsuite.StartDevServer with ExistingPath and
// ExtraArgs. Flags are not the reason: ExtraArgs could carry --http-port,
// --metrics-port, --ui-ip, --ui-codec-endpoint, --dynamic-config-value and
// --disable-config-file, and the SDK has options for the UI port, the db
// file, the log level and search attributes. What the SDK helper (v1.51)
// lacks is everything around the command line:
//   - Owning the process. It starts the server with a plain exec.Command: no
//     process group and no Pdeathsig, so a crashed or killed test leaves the
//     server running. Its Stop sends SIGINT to that one process and waits
//     with no deadline and no SIGKILL. If the server never becomes ready it
//     returns an error with no handle to the still-running process. This
//     package promises no orphans (TestMain checks), so it runs the server
//     through walletproc.StartProcessIn and stops it with Process.Stop
//     (SIGTERM to the group, then SIGKILL after temporalStopGrace).
//   - Readiness. The SDK waits only until client.Dial succeeds, and goes on
//     polling for up to 60 s after the server has already exited. waitReady
//     also checks health, that the namespace exists (raising its retention),
//     that the search attributes are there with the right types (adding those
//     that a db file from an older run lacks) and that the Web UI answers. It
//     gives up as soon as the process exits.
//   - Ports. The SDK picks a missing frontend port with its own
//     listen(":0") helper and never retries. StartTemporal picks every port
//     left to it with FreePort, which coordinates with other processes, and
//     retries a start that lost a port race. It detects the race from the
//     server log, which goes to a file per server whose tail is put in the
//     error. The SDK sends output to io.Writers, os.Stdout by default, and
//     its errors hold only the last dial error.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	if opts.Dir == "" {
		return nil, errors.New("start temporal: TemporalOptions.Dir is required")
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "warn"
	}
	bin, err := TemporalBinary()
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start temporal: create data dir: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, temporalStartTimeout)
	defer cancel()

	for attempt := 1; ; attempt++ {
		t, err := startTemporalOnce(ctx, bin, dir, opts)
		if err == nil {
			return t, nil
		}
		// Only retry a lost race for a port we picked ourselves.
		autoPorts := opts.Port == 0 || opts.HTTPPort == 0 || opts.MetricsPort == 0 || (!opts.Headless && opts.UIPort == 0)
		if !autoPorts || !errors.Is(err, walletproc.ErrPortTaken) || attempt == temporalStartAttempts || ctx.Err() != nil {
			return nil, err
		}
	}
}

func startTemporalOnce(ctx context.Context, bin, dir string, opts TemporalOptions) (*Temporal, error) {
	t := &Temporal{
		opts:      opts,
		Namespace: opts.Namespace,
		Dir:       dir,
		DBPath:    filepath.Join(dir, "temporal.db"),
		LogPath:   filepath.Join(dir, "temporal.log"),
	}
	var err error
	if t.GRPCPort, err = walletproc.PortOrFree(opts.Port); err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	if t.HTTPPort, err = walletproc.PortOrFree(opts.HTTPPort); err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	if t.MetricsPort, err = walletproc.PortOrFree(opts.MetricsPort); err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	if !opts.Headless {
		if t.UIPort, err = walletproc.PortOrFree(opts.UIPort); err != nil {
			return nil, fmt.Errorf("start temporal: %w", err)
		}
		t.UIURL = "http://127.0.0.1:" + strconv.Itoa(t.UIPort)
	}
	t.HostPort = "127.0.0.1:" + strconv.Itoa(t.GRPCPort)

	t.Proc, err = walletproc.StartProcessIn(ctx, "temporal", bin, temporalArgs(t, opts), t.LogPath, dir)
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	if err := t.waitReady(ctx, opts.SearchAttributes); err != nil {
		_ = t.Proc.Kill()
		tail := t.Proc.LogTail(logTailBytes)
		if strings.Contains(tail, "address already in use") {
			err = fmt.Errorf("%w: %w", walletproc.ErrPortTaken, err)
		}
		return nil, fmt.Errorf("start temporal on %s: %w\n--- tail of %s ---\n%s", t.HostPort, err, t.LogPath, tail)
	}
	return t, nil
}

// temporalArgs builds the start-dev command line. Every listening port is
// passed explicitly: left alone, the UI would take --port+1000 and could
// collide with a parallel server. The internal history/matching/worker gRPC
// ports have no flag; the server picks them itself on 127.0.0.1.
func temporalArgs(t *Temporal, opts TemporalOptions) []string {
	args := []string{
		"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(t.GRPCPort),
		"--http-port", strconv.Itoa(t.HTTPPort),
		"--metrics-port", strconv.Itoa(t.MetricsPort),
		"--db-filename", t.DBPath,
		"--log-level", opts.LogLevel,
		"--color", "never",
		// A developer's ~/.config/temporalio or TEMPORAL_* env must not change the test stack.
		"--disable-config-file", "--disable-config-env",
	}
	if opts.Headless {
		args = append(args, "--headless")
	} else {
		args = append(args, "--ui-ip", "127.0.0.1", "--ui-port", strconv.Itoa(t.UIPort))
		if opts.CodecEndpoint != "" {
			args = append(args, "--ui-codec-endpoint", opts.CodecEndpoint)
		}
	}
	if opts.Namespace != "default" { // "default" is always created
		args = append(args, "--namespace", opts.Namespace)
	}
	// Sorted so the command line (and its log line) is reproducible.
	for _, k := range slices.Sorted(maps.Keys(opts.SearchAttributes)) {
		args = append(args, "--search-attribute", k+"="+opts.SearchAttributes[k])
	}
	for _, k := range slices.Sorted(maps.Keys(opts.DynamicConfig)) {
		args = append(args, "--dynamic-config-value", k+"="+opts.DynamicConfig[k])
	}
	pragmas := opts.SQLitePragmas
	if pragmas == nil {
		pragmas = DefaultSQLitePragmas
	}
	for _, k := range slices.Sorted(maps.Keys(pragmas)) {
		args = append(args, "--sqlite-pragma", k+"="+pragmas[k])
	}
	return args
}

// waitReady polls until the server answers every check or ctx ends.
func (t *Temporal) waitReady(ctx context.Context, attrs map[string]string) error {
	var lastErr error
	for {
		select {
		case <-t.Proc.Done():
			return fmt.Errorf("server exited during startup: %v", t.Proc.ExitErr())
		default:
		}
		if lastErr = t.probe(ctx, attrs); lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last check: %v)", ctx.Err(), lastErr)
		case <-t.Proc.Done():
		case <-time.After(temporalPollInterval):
		}
	}
}

// probe runs one round of readiness checks, each bounded so a hung dial
// cannot eat the whole startup budget.
func (t *Temporal) probe(ctx context.Context, attrs map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, temporalProbeTimeout)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  t.HostPort,
		Namespace: t.Namespace,
		// The SDK's default logger prints a warning on every dial.
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("check health: %w", err)
	}
	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: t.Namespace})
	if err != nil {
		return fmt.Errorf("describe namespace %q: %w", t.Namespace, err)
	}
	// start-dev creates namespaces with a 24 h retention (and has no flag for it), shorter
	// than the worker's namespace check accepts: raise it as a bootstrapped cluster has it.
	if have := ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); have < escrow.MinRetention {
		if _, err := c.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
			Namespace: t.Namespace,
			Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(escrow.MinRetention)},
		}); err != nil {
			return fmt.Errorf("raise the retention of namespace %q: %w", t.Namespace, err)
		}
		return fmt.Errorf("retention of namespace %q raised from %s to %s; checking again", t.Namespace, have, escrow.MinRetention)
	}
	if len(attrs) > 0 {
		resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: t.Namespace})
		if err != nil {
			return fmt.Errorf("list search attributes: %w", err)
		}
		missing := map[string]enums.IndexedValueType{}
		for name, typ := range attrs {
			got, ok := resp.GetCustomAttributes()[name]
			if !ok {
				// A database from an older run keeps its old set: add what is new.
				missing[name] = searchattr.Parse(typ)
				continue
			}
			if !searchattr.Same(got, typ) {
				return fmt.Errorf("search attribute %q has type %s, want %s (a reused db file keeps old types)", name, got, typ)
			}
		}
		if len(missing) > 0 {
			if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
				Namespace: t.Namespace, SearchAttributes: missing,
			}); err != nil {
				return fmt.Errorf("add search attributes: %w", err)
			}
			return fmt.Errorf("search attributes %v added; checking again", len(missing))
		}
	}
	if t.UIURL != "" {
		// The UI server runs in the same process but starts on its own; tests
		// that open it in a browser need it up too.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.UIURL+"/", nil)
		if err != nil {
			return fmt.Errorf("ui request: %w", err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("ui: %w", err)
		}
		_ = resp.Body.Close()
	}
	return nil
}

// Stop shuts the server down (SIGTERM, then SIGKILL after 30 s). The db file stays.
func (t *Temporal) Stop() error {
	if err := t.Proc.Stop(temporalStopGrace); err != nil {
		return fmt.Errorf("stop temporal %s: %w", t.HostPort, err)
	}
	return nil
}

// Restart stops the server (if still running) and starts a new one on the same
// Dir and ports, so history survives and clients keep their address; it is
// what a durability test uses to simulate a server restart.
func (t *Temporal) Restart(ctx context.Context) (*Temporal, error) {
	_ = t.Stop() // a kill after the grace period is fine: SQLite recovers
	opts := t.opts
	opts.Dir, opts.Port, opts.HTTPPort, opts.MetricsPort, opts.UIPort = t.Dir, t.GRPCPort, t.HTTPPort, t.MetricsPort, t.UIPort
	nt, err := StartTemporal(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("restart temporal: %w", err)
	}
	return nt, nil
}

// WorkflowURL returns the Web UI link for a run:
// {UIURL}/namespaces/{ns}/workflows/{workflowID}/{runID}/history ("" when headless).
func (t *Temporal) WorkflowURL(workflowID, runID string) string {
	if t.UIURL == "" {
		return ""
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", t.UIURL,
		url.PathEscape(t.Namespace), url.PathEscape(workflowID), url.PathEscape(runID))
}
