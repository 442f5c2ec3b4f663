// Command temporal-bootstrap prepares a Temporal cluster for the escrows, and can be run
// again at any time: a second run changes nothing.
//
//	temporal-bootstrap [database|namespace|all]
//
// database: creates the persistence and visibility databases on PostgreSQL if missing and
// brings their schemas up to date with temporal-sql-tool (the server release's own; in the
// temporalio/admin-tools image). It runs before the cluster's services start. Environment,
// shared with the cluster's configuration: POSTGRES_SEEDS, DB_PORT, POSTGRES_USER,
// POSTGRES_PWD, DBNAME, VISIBILITY_DBNAME; TEMPORAL_SQL_TOOL names the tool.
//
// namespace: registers the namespace with its retention (raised, never lowered), registers
// the escrow search attributes and reads them back. It needs the frontend, reached like
// every client here: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*,
// TEMPORAL_API_KEY (package temporalclient). Against Temporal Cloud only this step runs.
//
// all (the default) runs both. Each step prints one line per thing it checked.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/bootstrap"
	"github.com/xmr-escrow/xmr-escrow/internal/temporalclient"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "temporal-bootstrap:", err)
		os.Exit(1)
	}
}

func run() error {
	var conn temporalclient.Options
	fs := flag.NewFlagSet("temporal-bootstrap", flag.ExitOnError)
	fs.StringVar(&conn.HostPort, "address", "", "Temporal frontend host:port (default $TEMPORAL_ADDRESS or "+temporalclient.DefaultHostPort+")")
	fs.StringVar(&conn.Namespace, "namespace", "", "the escrows' namespace (default $TEMPORAL_NAMESPACE or default)")
	conn.RegisterFlags(fs)
	retention := fs.Duration("retention", escrow.MinRetention, "how long closed escrows stay readable; raised to this if shorter, never lowered")
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for the frontend to answer and for a new namespace to appear")
	_ = fs.Parse(os.Args[1:])
	phase := fs.Arg(0)
	if phase == "" {
		phase = "all"
	}
	if phase != "all" && phase != "database" && phase != "namespace" {
		return fmt.Errorf("unknown step %q: want database, namespace or all", phase)
	}
	if *retention < escrow.MinRetention {
		return fmt.Errorf("--retention %s is shorter than an escrow can need (%s: its longest life plus the late-money grace)", *retention, escrow.MinRetention)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if phase != "namespace" {
		steps, err := bootstrap.SetUpDatabases(ctx, bootstrap.DatabaseFromEnv())
		report(steps)
		if err != nil {
			return err
		}
	}
	if phase == "database" {
		return nil
	}
	attrs, err := bootstrap.AttributeTypes(escrow.SearchAttributeTypes)
	if err != nil {
		return err
	}
	conn = conn.FromEnv()
	c, err := dialUntil(ctx, conn, *wait)
	if err != nil {
		return err
	}
	defer c.Close()
	steps, err := bootstrap.SetUpNamespace(ctx, c, bootstrap.Namespace{Name: conn.Namespace, Retention: *retention, SearchAttributes: attrs, Wait: *wait})
	report(steps)
	return err
}

// dialUntil dials the frontend, which may still be starting (the compose job starts with
// the cluster), until it answers or wait passes. A refused certificate ends it at once.
func dialUntil(ctx context.Context, o temporalclient.Options, wait time.Duration) (temporalclient.OperatorClient, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		c, err := temporalclient.DialOperator(ctx, o)
		if err == nil {
			return c, nil
		}
		if temporalclient.IsTLSRefused(err) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (gave up after %s)", err, wait)
		case <-time.After(time.Second):
		}
	}
}

func report(steps []bootstrap.Step) {
	changed := 0
	for _, s := range steps {
		fmt.Println(s)
		if s.Changed {
			changed++
		}
	}
	if len(steps) > 0 {
		fmt.Printf("%d checked, %d changed\n", len(steps), changed)
	}
}
