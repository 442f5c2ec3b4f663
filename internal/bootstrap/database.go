// Package bootstrap prepares a Temporal cluster for the escrows, idempotently: the
// persistence and visibility databases and their schemas on PostgreSQL (with
// temporal-sql-tool, the server release's own), then the namespace with its retention and
// the escrow search attributes. cmd/temporal-bootstrap runs it; so do the compose stack's
// one-shot jobs and devstack.StartCluster, so production and the tests set up alike.
package bootstrap

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/lib/pq" // also the database/sql driver for reading schema versions

	"github.com/xmr-escrow/xmr-escrow/deploy"
)

// The database step reads the cluster configuration's own variables (deploy.EnvDBHost, ...:
// deploy/temporal/config/xmr-escrow.yaml), so one environment serves the server and the
// bootstrap. EnvSQLTool is its own.
const (
	EnvSQLTool        = "TEMPORAL_SQL_TOOL"
	defaultSQLTool    = "temporal-sql-tool"
	sqlPlugin         = "postgres12"
	persistenceSchema = "postgresql/v12/temporal"
	visibilitySchema  = "postgresql/v12/visibility"
)

// Database says where the cluster's two databases are.
type Database struct {
	Host, Port, User string
	// Password reaches temporal-sql-tool through its environment (SQL_PASSWORD), never its
	// command line, which other local users can read.
	Password string
	// Persistence and Visibility are the two database names.
	Persistence, Visibility string
	// SQLTool is the temporal-sql-tool binary; default $TEMPORAL_SQL_TOOL, then PATH.
	SQLTool string
}

// DatabaseFromEnv reads the database step's settings, with the cluster config's defaults.
func DatabaseFromEnv() Database {
	get := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	return Database{
		Host: get(deploy.EnvDBHost, "127.0.0.1"), Port: get(deploy.EnvDBPort, "5432"), User: get(deploy.EnvDBUser, "temporal"),
		Password: os.Getenv(deploy.EnvDBPassword), Persistence: get(deploy.EnvDBName, "temporal"),
		Visibility: get(deploy.EnvVisibilityDB, "temporal_visibility"), SQLTool: get(EnvSQLTool, defaultSQLTool),
	}
}

// Step is one thing the bootstrap checked, and what it did about it.
type Step struct {
	// What names the thing: "database temporal", "namespace default", "search attribute X".
	What string
	// Changed is false when the thing was already as wanted.
	Changed bool
	// Detail says what it found or did: "created at 1.17", "unchanged at 1.17".
	Detail string
}

// String reads like a log line.
func (s Step) String() string {
	verb := "unchanged"
	if s.Changed {
		verb = "changed"
	}
	return fmt.Sprintf("%s: %s (%s)", s.What, verb, s.Detail)
}

// SetUpDatabases creates both databases if missing and brings their schemas to the newest
// version the server release knows. Run twice, the second run changes nothing.
func SetUpDatabases(ctx context.Context, d Database) ([]Step, error) {
	if d.SQLTool == "" {
		d.SQLTool = defaultSQLTool
	}
	if _, err := exec.LookPath(d.SQLTool); err != nil {
		return nil, fmt.Errorf("bootstrap: temporal-sql-tool not found (%s): it ships in the temporalio/admin-tools image; "+
			"elsewhere `go install go.temporal.io/server/cmd/tools/sql@<server version>` and set %s: %w", d.SQLTool, EnvSQLTool, err)
	}
	var steps []Step
	for _, db := range []struct{ name, schema string }{{d.Persistence, persistenceSchema}, {d.Visibility, visibilitySchema}} {
		before, err := schemaVersion(ctx, d, db.name)
		if err != nil {
			return steps, err
		}
		for _, args := range [][]string{
			{"create-database"},
			{"setup-schema", "-v", "0.0"},
			{"update-schema", "--schema-name", db.schema},
		} {
			if err := d.runTool(ctx, db.name, args...); err != nil {
				return steps, err
			}
		}
		after, err := schemaVersion(ctx, d, db.name)
		if err != nil {
			return steps, err
		}
		if after == "" {
			return steps, fmt.Errorf("bootstrap: database %s has no schema version after update-schema", db.name)
		}
		s := Step{What: "database " + db.name, Changed: before != after, Detail: "schema " + db.schema + " at " + after}
		if before != "" && before != after {
			s.Detail += ", was " + before
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// runTool runs one temporal-sql-tool command on database name.
func (d Database) runTool(ctx context.Context, name string, args ...string) error {
	full := append([]string{"--plugin", sqlPlugin, "--ep", d.Host, "-p", d.Port, "-u", d.User, "--db", name, "--quiet"}, args...)
	cmd := exec.CommandContext(ctx, d.SQLTool, full...)
	cmd.Env = append(os.Environ(), "SQL_PASSWORD="+d.Password)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("bootstrap: temporal-sql-tool %s on %s: %w\n%s", args[0], name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// schemaVersion is the schema version temporal-sql-tool recorded in database name, or ""
// when the database or its version table does not exist yet.
func schemaVersion(ctx context.Context, d Database, name string) (string, error) {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(d.User, d.Password), Host: net.JoinHostPort(d.Host, d.Port), Path: "/" + name,
		RawQuery: "sslmode=prefer&connect_timeout=10"}
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		return "", fmt.Errorf("bootstrap: open %s: %w", name, err)
	}
	defer func() { _ = db.Close() }()
	var v string
	err = db.QueryRowContext(ctx, `SELECT curr_version FROM schema_version LIMIT 1`).Scan(&v)
	switch {
	case err == nil:
		return v, nil
	case errors.Is(err, sql.ErrNoRows), isMissing(err):
		return "", nil
	}
	return "", fmt.Errorf("bootstrap: read the schema version of %s on %s: %w", name, net.JoinHostPort(d.Host, d.Port), err)
}

// isMissing tells a database or table that does not exist yet (3D000, 42P01) from a
// failure to reach PostgreSQL.
func isMissing(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && (pe.Code == "3D000" || pe.Code == "42P01")
}
