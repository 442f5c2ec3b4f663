// Package schema migrates the escrow database. Only what writes the database (the worker,
// the local stack) imports it: the marketplace's client reads through store.Open, which never
// migrates and so never brings goose in.
package schema

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/keyring"
)

// migrations holds the schema; embedding it means a binary can never run against SQL files
// other than the ones it was built and tested with.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockID is the advisory lock serializing concurrent Opens; distinct from goose's
// default so that unrelated goose users in the same database do not wait on us.
const migrationLockID int64 = 0x786d72_65736372 // "xmr" "escr"

// Lock acquisition is polled: every second, for up to five minutes, so that a second Open
// waits about as long as the first one's migration takes, not goose's default 5 s steps.
const (
	lockPollSeconds = 1
	lockPolls       = 300
)

// Migrate applies the pending migrations to db and returns the versions it applied (none when
// the schema is current). Concurrent calls on the same database are serialized by a
// PostgreSQL session advisory lock, so every process can call it on start-up.
func Migrate(ctx context.Context, db *sql.DB) ([]int64, error) {
	provider, err := newProvider(db)
	if err != nil {
		return nil, err
	}
	// No provider.Close: it would close db, which belongs to the caller.
	results, err := provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("schema: migrate: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// Versions returns the highest migration version applied to db and the highest one this
// binary knows; a deploy check can refuse to start when the database is ahead of the binary.
func Versions(ctx context.Context, db *sql.DB) (current, known int64, err error) {
	provider, err := newProvider(db)
	if err != nil {
		return 0, 0, err
	}
	current, known, err = provider.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("schema: version: %w", err)
	}
	return current, known, nil
}

// newProvider builds the goose provider over the embedded migrations.
func newProvider(db *sql.DB) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("schema: migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrationLockID),
		lock.WithLockTimeout(lockPollSeconds, lockPolls),
	)
	if err != nil {
		return nil, fmt.Errorf("schema: migration lock: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(locker),
		goose.WithTableName(store.MigrationsTable),
		// Results are returned to the caller; goose's own stdout lines would bypass zap.
		goose.WithLogger(goose.NopLogger()),
		// Only the embedded SQL files: never Go migrations registered globally by other code.
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("schema: migrations: %w", err)
	}
	return provider, nil
}

// Open migrates the database at dsn to this build's schema (safe when several processes
// start at once: an advisory lock serializes them), then opens a Store on it.
func Open(ctx context.Context, dsn string, keys *keyring.Keyring) (*store.Store, error) {
	s, err := store.Connect(ctx, dsn, keys)
	if err != nil {
		return nil, err
	}
	if _, err := Migrate(ctx, s.DB().DB); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("schema: open %s: %w", store.RedactDSN(dsn), err)
	}
	return s, nil
}
