package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/internal/store/schema"
	"github.com/xmr-escrow/xmr-escrow/internal/store/storetest"
)

func TestMigrateFromEmptyDatabaseThenNoOp(t *testing.T) {
	ctx := testCtx(t)
	dsn := storetest.NewDatabase(t)
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()

	var tables int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables))
	require.Zero(t, tables, "a fresh database starts empty")

	applied, err := schema.Migrate(ctx, db)
	require.NoError(t, err)
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, applied, "every migration, in order")

	current, known, err := schema.Versions(ctx, db)
	require.NoError(t, err)
	assert.Equal(t, int64(store.SchemaVersion), current, "store.SchemaVersion names the last migration")
	assert.Equal(t, known, current)

	var indexes []string
	rows, err := db.QueryContext(ctx, `SELECT indexname FROM pg_indexes WHERE tablename = 'escrows' ORDER BY indexname`)
	require.NoError(t, err)
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		indexes = append(indexes, name)
	}
	require.NoError(t, rows.Err())
	assert.Subset(t, indexes, []string{"escrows_pkey", "escrows_status_idx", "escrows_multisig_phase_idx"})

	again, err := schema.Migrate(ctx, db)
	require.NoError(t, err)
	assert.Empty(t, again, "a second migrate applies nothing")

	// Re-Open on the migrated database is a no-op too, and the store works.
	keys, _ := newKeyring(t, "k1")
	s := openWith(t, dsn, keys)
	_, err = s.List(ctx, store.Filter{})
	require.NoError(t, err)
	assert.Equal(t, 1, migrationRows(t, db, 1))
}

// The marketplace's client opens read-only: it never migrates, and an old schema is refused
// with a message that says what to do.
func TestAReadOnlyOpenNeverMigratesAndRefusesAnOldSchema(t *testing.T) {
	ctx := testCtx(t)
	dsn := storetest.NewDatabase(t)
	keys, _ := newKeyring(t, "k1")
	_, err := store.Open(ctx, dsn, keys)
	require.ErrorIs(t, err, store.ErrSchemaBehind)
	assert.Contains(t, err.Error(), "version 0, this build needs")
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	var tables int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables))
	assert.Zero(t, tables, "nothing was created")

	openWith(t, dsn, keys) // migrates
	s, err := store.Open(ctx, dsn, keys)
	require.NoError(t, err, "a migrated database opens read-only")
	_ = s.Close()
}

func TestConcurrentOpensOfOneFreshDatabase(t *testing.T) {
	ctx := testCtx(t)
	dsn := storetest.NewDatabase(t)
	keys, _ := newKeyring(t, "k1")

	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	stores := make([]*store.Store, n)
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = schema.Open(ctx, dsn, keys) })
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "open %d", i)
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	for i, s := range stores {
		applied, err := s.Upsert(ctx, sample(fmt.Sprintf("concurrent-open-%d", i), 1))
		require.NoError(t, err)
		assert.True(t, applied)
	}
	assert.Equal(t, 1, migrationRows(t, stores[0].DB().DB, 1), "migration 1 recorded exactly once")
}

// migrationRows counts how often goose recorded version as applied.
func migrationRows(t *testing.T, db *sql.DB, version int64) int {
	t.Helper()
	var n int
	q := `SELECT count(*) FROM ` + pq.QuoteIdentifier(store.MigrationsTable) + ` WHERE version_id = $1 AND is_applied`
	require.NoError(t, db.QueryRowContext(context.Background(), q, version).Scan(&n))
	return n
}

func TestOpenUnreachableSaysHowAndHidesPassword(t *testing.T) {
	keys, _ := newKeyring(t, "k1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 refuses at once on any machine; no PostgreSQL is needed for this test.
	_, err := schema.Open(ctx, "postgres://postgres:hunter2secret@127.0.0.1:1/xmr_escrow?sslmode=disable&connect_timeout=2", keys)
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "cannot reach PostgreSQL")
	assert.Contains(t, msg, store.EnvDSN)
	assert.Contains(t, msg, "127.0.0.1:1")
	assert.NotContains(t, msg, "hunter2secret")
}

func TestOpenMissingDatabaseSaysCreateIt(t *testing.T) {
	dsn := storetest.NewDatabase(t) // only for the server's address; and skips in -short
	missing := strings.Replace(dsn, "xmr_escrow_test_", "xmr_escrow_missing_", 1)
	keys, _ := newKeyring(t, "k1")
	_, err := schema.Open(testCtx(t), missing, keys)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not exist")
	assert.Contains(t, err.Error(), "createdb")
}

func TestOpenBadURLHidesPassword(t *testing.T) {
	keys, _ := newKeyring(t, "k1")
	_, err := schema.Open(context.Background(), "postgres://postgres:p%zzsecret@127.0.0.1:5432/x", keys)
	require.ErrorContains(t, err, "invalid database URL")
	assert.NotContains(t, err.Error(), "zz")
}

func TestOpenNeedsAKeyring(t *testing.T) {
	_, err := schema.Open(context.Background(), store.DefaultDSN, nil)
	require.ErrorContains(t, err, "keyring is nil")
}

func TestDSNFromEnv(t *testing.T) {
	t.Setenv(store.EnvDSN, "")
	assert.Equal(t, store.DefaultDSN, store.DSNFromEnv())
	t.Setenv(store.EnvDSN, "postgres://u@db:5432/x")
	assert.Equal(t, "postgres://u@db:5432/x", store.DSNFromEnv())
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/d?sslmode=disable":      "postgres://u:xxxxx@h:5432/d?sslmode=disable",
		"postgres://u@h/d?password=pw&sslmode=disable":  "postgres://u@h/d?password=xxxxx&sslmode=disable",
		"host=h user=u password=pw dbname=d":            "host=h user=u password=xxxxx dbname=d",
		"host=h password='p w' dbname=d":                "host=h password=xxxxx dbname=d",
		"postgres://postgres@127.0.0.1:5432/xmr_escrow": "postgres://postgres@127.0.0.1:5432/xmr_escrow",
	} {
		assert.Equal(t, want, store.RedactDSN(in), in)
	}
	assert.NotContains(t, store.RedactDSN("postgres://u:p%zzw@h/d"), "p%zzw")
}
