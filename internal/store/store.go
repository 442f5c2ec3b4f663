// Package store is the marketplace's projection of each escrow workflow in PostgreSQL: one
// row per escrow, written by the workflow's activities with a version so that retries and
// out-of-order deliveries never move a row backwards, and read by the marketplace.
//
// The multisig key-exchange messages are secrets; they are stored only sealed with the
// keyring (AES-GCM bound to the escrow id), and List never touches them.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/xmr-escrow/xmr-escrow/keyring"
)

// DefaultDSN is the database used when EnvDSN is unset: the machine's PostgreSQL.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/xmr_escrow?sslmode=disable"

// EnvDSN names the environment variable holding the database URL (lib/pq syntax).
const EnvDSN = "XMR_ESCROW_DATABASE_URL"

// DSNFromEnv returns $XMR_ESCROW_DATABASE_URL, or DefaultDSN when it is unset or empty.
func DSNFromEnv() string {
	if dsn := strings.TrimSpace(os.Getenv(EnvDSN)); dsn != "" {
		return dsn
	}
	return DefaultDSN
}

// maxOpenConns bounds the pool: a worker runs many activities at once, and PostgreSQL's
// default max_connections (100) is shared by every worker and the marketplace.
const maxOpenConns = 20

// Store reads and writes the escrows table. It is safe for concurrent use.
type Store struct {
	db   *sqlx.DB
	keys *keyring.Keyring
}

// MigrationsTable is goose's version table for this package (store/schema migrates it). It
// is not goose's default (goose_db_version) so that the marketplace's own goose migrations in
// the same database keep their own version sequence.
const MigrationsTable = "xmr_escrow_store_migrations"

// SchemaVersion is the schema this build reads and writes: the number of the last migration
// in store/schema/migrations (a test there keeps the two equal).
const SchemaVersion = 11

// ErrSchemaBehind is returned (wrapped) by Open when the database has not been migrated to
// SchemaVersion yet: start a worker of this version (it migrates) or open with schema.Open.
var ErrSchemaBehind = errors.New("database schema is older than this build")

// Open connects to dsn, checks the server answers and that its schema is at least
// SchemaVersion, and never changes the schema: a read-only client (the marketplace's starter)
// needs no migration code. A newer schema is fine, since migrations only add. keys seals and
// opens the multisig infos; it is required because a store that cannot read what it writes
// is a bug.
func Open(ctx context.Context, dsn string, keys *keyring.Keyring) (*Store, error) {
	s, err := Connect(ctx, dsn, keys)
	if err != nil {
		return nil, err
	}
	var current int64
	q := `SELECT coalesce(max(version_id), 0) FROM ` + pq.QuoteIdentifier(MigrationsTable) + ` WHERE is_applied`
	if err := s.db.GetContext(ctx, &current, q); err != nil {
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != pqerror.UndefinedTable {
			_ = s.Close()
			return nil, fmt.Errorf("store: open %s: read schema version: %w", RedactDSN(dsn), err)
		}
	}
	if current < SchemaVersion {
		_ = s.Close()
		return nil, fmt.Errorf("store: open %s: %w (version %d, this build needs %d): start a worker of this version, which migrates it",
			RedactDSN(dsn), ErrSchemaBehind, current, SchemaVersion)
	}
	return s, nil
}

// Connect connects to dsn and checks the server answers, without looking at the schema:
// store/schema uses it to migrate, and Open to check.
func Connect(ctx context.Context, dsn string, keys *keyring.Keyring) (*Store, error) {
	if keys == nil {
		return nil, errors.New("store: open: keyring is nil")
	}
	if strings.Contains(dsn, "://") {
		if _, err := url.Parse(dsn); err != nil {
			// Not "cannot reach": the fix is the URL. url's error is not wrapped because it
			// quotes the URL or a piece of it, which may be the password.
			return nil, fmt.Errorf("store: open: invalid database URL (check %s; percent-encode special characters in the password)", EnvDSN)
		}
	}
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", RedactDSN(dsn), redactErr(err, dsn))
	}
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns / 2)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, pingError(dsn, err)
	}
	return &Store{db: db, keys: keys}, nil
}

// pingError says how to get a server (or database) rather than only that there is none.
func pingError(dsn string, err error) error {
	where := RedactDSN(dsn)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == pqerror.InvalidCatalogName {
		return fmt.Errorf("store: database in %s does not exist; create it (%s) or set %s: %w",
			where, createdbHint(dsn), EnvDSN, redactErr(err, dsn))
	}
	return fmt.Errorf("store: cannot reach PostgreSQL at %s; start it (the machine's PostgreSQL on 127.0.0.1:5432, e.g. `service postgresql start`) or set %s to a reachable server: %w",
		where, EnvDSN, redactErr(err, dsn))
}

// createdbHint spells the createdb command for a URL DSN, so it can be pasted.
func createdbHint(dsn string) string {
	u, err := url.Parse(dsn)
	name := ""
	if err == nil {
		name = strings.TrimPrefix(u.Path, "/")
	}
	if name == "" || strings.ContainsAny(name, "/ '\"") {
		return "with createdb or CREATE DATABASE"
	}
	cmd := "createdb"
	if h := u.Hostname(); h != "" {
		cmd += " -h " + h
	}
	if p := u.Port(); p != "" {
		cmd += " -p " + p
	}
	if user := u.User.Username(); user != "" {
		cmd += " -U " + user
	}
	return "e.g. `" + cmd + " " + name + "`"
}

// Close closes the connection pool.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// DB returns the connection pool, for queries the Store does not offer. Map errors of writes
// through it with MapError.
func (s *Store) DB() *sqlx.DB {
	return s.db
}

var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// RedactDSN returns dsn with its password replaced, so that errors and logs can name the
// server without leaking the credential.
func RedactDSN(dsn string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			// Unparseable: say nothing of it rather than risk printing a password.
			return "<unparseable database URL>"
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
}

// redactErr hides the DSN's password in err's text: drivers quote bad URLs whole.
func redactErr(err error, dsn string) error {
	pw := dsnPassword(dsn)
	if pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), pw, "xxxxx"), err: err}
}

// dsnPassword extracts the password from either DSN syntax, best effort.
func dsnPassword(dsn string) string {
	if strings.Contains(dsn, "://") {
		rest := dsn[strings.Index(dsn, "://")+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
				return pw
			}
		}
		if u, err := url.Parse(dsn); err == nil {
			return u.Query().Get("password")
		}
		return ""
	}
	if m := kvPassword.FindStringSubmatch(dsn); m != nil {
		return strings.Trim(m[2], "'")
	}
	return ""
}

// redactedError keeps the cause for errors.Is/As but prints it without the password.
type redactedError struct {
	msg string
	err error
}

// Error is the message with the password taken out.
func (e *redactedError) Error() string { return e.msg }

// Unwrap keeps errors.Is working through the redaction.
func (e *redactedError) Unwrap() error { return e.err }
