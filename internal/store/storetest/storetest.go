// Package storetest gives each test run a fresh PostgreSQL database of its own, so tests
// never see each other's rows and leave nothing behind.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha512"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"filippo.io/edwards25519"
	"github.com/lib/pq"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/moneroaddr"
)

// EnvServer names the environment variable holding the URL of the server tests create their
// databases on; it must name a database the role can connect to (for CREATE DATABASE).
const EnvServer = "XMR_ESCROW_TEST_POSTGRES"

// DefaultServer is the machine's PostgreSQL with trust auth.
const DefaultServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerDSN returns $XMR_ESCROW_TEST_POSTGRES, or DefaultServer when it is unset.
func ServerDSN() string {
	if dsn := strings.TrimSpace(os.Getenv(EnvServer)); dsn != "" {
		return dsn
	}
	return DefaultServer
}

// NewDatabase creates a uniquely named database (xmr_escrow_test_<random hex>) on the server
// given by $XMR_ESCROW_TEST_POSTGRES (default DefaultServer), registers t.Cleanup to drop it
// (WITH (FORCE), so pools the test forgot to close do not keep it alive), and returns its DSN.
// If the server does not answer, the test fails saying how to get one. In -short mode it skips.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs PostgreSQL; unit-only mode (-short)")
	}
	server := ServerDSN()
	u, err := url.Parse(server)
	if err != nil || u.Scheme == "" {
		t.Fatalf("storetest: %s must be a postgres:// URL (got an unparseable value)", EnvServer)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("postgres", server)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", u.Redacted(), err)
	}
	defer func() { _ = admin.Close() }()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("storetest: PostgreSQL at %s does not answer: %v\n"+
			"These tests need a PostgreSQL server: the machine's own on 127.0.0.1:5432 with trust auth "+
			"for role postgres (e.g. `service postgresql start`), or set %s to a server URL whose role may "+
			"CREATE DATABASE. `go test -short` skips them.", u.Redacted(), err, EnvServer)
	}

	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("storetest: random name: %v", err)
	}
	name := "xmr_escrow_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		t.Fatalf("storetest: create database %s on %s: %v", name, u.Redacted(), err)
	}
	t.Cleanup(func() { dropDatabase(t, server, name) })

	db := *u
	db.Path = "/" + name
	return db.String()
}

// dropDatabase removes a database made by NewDatabase, on a fresh connection because the
// test's context and pools may already be gone.
func dropDatabase(t testing.TB, server, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("postgres", server)
	if err != nil {
		t.Errorf("storetest: drop database %s: %v", name, err)
		return
	}
	defer func() { _ = admin.Close() }()
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		t.Errorf("storetest: drop database %s: %v", name, err)
	}
}

// NewWatch makes a block-watcher registration with a real key pair: a view key from seed
// (any bytes; the same seed gives the same keys) and the standard mainnet address whose
// public view key it matches, as an escrow's multisig address would.
func NewWatch(t testing.TB, id string, seed []byte, from uint64) store.Watch {
	t.Helper()
	scalar := func(tag byte) *edwards25519.Scalar {
		wide := sha512.Sum512(append([]byte{tag}, seed...))
		s, err := edwards25519.NewScalar().SetUniformBytes(wide[:])
		if err != nil {
			t.Fatalf("storetest: scalar: %v", err)
		}
		return s
	}
	view, spend := scalar(0), scalar(1)
	a := moneroaddr.Address{Network: moneroaddr.Mainnet, Kind: moneroaddr.Standard}
	copy(a.PublicViewKey[:], new(edwards25519.Point).ScalarBaseMult(view).Bytes())
	copy(a.PublicSpendKey[:], new(edwards25519.Point).ScalarBaseMult(spend).Bytes())
	addr, err := moneroaddr.Encode(a)
	if err != nil {
		t.Fatalf("storetest: encode address: %v", err)
	}
	w := store.Watch{EscrowID: id, Address: addr, FromHeight: from}
	copy(w.ViewKey[:], view.Bytes())
	return w
}
