package store_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/internal/store/storetest"
	"github.com/xmr-escrow/xmr-escrow/moneroaddr"
)

// newWatch makes a watch with a real key pair derived from seed.
func newWatch(t *testing.T, id string, seed byte, from uint64) store.Watch {
	return storetest.NewWatch(t, id, []byte{seed}, from)
}

// rawWatches dumps watched_escrows as PostgreSQL prints its rows.
func rawWatches(t *testing.T, s *store.Store) string {
	t.Helper()
	var dump []string
	require.NoError(t, s.DB().SelectContext(testCtx(t), &dump, `SELECT t::text FROM watched_escrows t`))
	return fmt.Sprint(dump)
}

func TestAWatchIsStoredSealedAndReadBackOpen(t *testing.T) {
	s, _ := openStore(t)
	ctx := testCtx(t)
	b, a := newWatch(t, "b-escrow", 1, 300), newWatch(t, "a-escrow", 2, 7)
	require.NoError(t, s.RegisterWatch(ctx, b))
	require.NoError(t, s.RegisterWatch(ctx, a))

	got, err := s.Watches(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.Watch{a, b}, got, "keys opened, ordered by escrow ID")
	n, err := s.CountWatches(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 2, n)

	raw := rawWatches(t, s)
	assert.Contains(t, raw, a.Address, "the control: the dump shows the rows")
	for _, w := range got {
		assert.NotContains(t, raw, hex.EncodeToString(w.ViewKey[:]), "no plaintext view key in the table")
	}
}

func TestRegisteringAgainKeepsTheLowerHeightAndUnwatchIsIdempotent(t *testing.T) {
	s, _ := openStore(t)
	ctx := testCtx(t)
	w := newWatch(t, "again", 3, 100)
	require.NoError(t, s.RegisterWatch(ctx, w))
	later := w
	later.FromHeight = 120 // a retried registration reads a later height
	require.NoError(t, s.RegisterWatch(ctx, later))
	got, err := s.Watches(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.EqualValues(t, 100, got[0].FromHeight, "no block is skipped")

	moved := newWatch(t, "again", 4, 500) // another address replaces the row whole
	require.NoError(t, s.RegisterWatch(ctx, moved))
	got, err = s.Watches(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.Watch{moved}, got)

	require.NoError(t, s.Unwatch(ctx, "again"))
	require.NoError(t, s.Unwatch(ctx, "again"), "unwatching twice is no error")
	require.NoError(t, s.Unwatch(ctx, "never-watched"))
	n, err := s.CountWatches(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.ErrorIs(t, s.Unwatch(ctx, "../x"), store.ErrInvalid)
}

func TestABadWatchIsRefusedBeforeTheDatabase(t *testing.T) {
	s, _ := openStore(t)
	ctx := testCtx(t)
	good := newWatch(t, "good", 5, 1)
	other := newWatch(t, "other", 6, 1)
	integrated := func() string {
		a, err := moneroaddr.Parse(good.Address)
		require.NoError(t, err)
		a.Kind, a.PaymentID = moneroaddr.Integrated, make([]byte, 8)
		addr, err := moneroaddr.Encode(a)
		require.NoError(t, err)
		return addr
	}()
	for name, mut := range map[string]func(*store.Watch){
		"bad id":           func(w *store.Watch) { w.EscrowID = "a/b" },
		"no address":       func(w *store.Watch) { w.Address = "" },
		"bad checksum":     func(w *store.Watch) { w.Address = w.Address[:94] + "1" },
		"integrated":       func(w *store.Watch) { w.Address = integrated },
		"another's key":    func(w *store.Watch) { w.ViewKey = other.ViewKey },
		"zero key":         func(w *store.Watch) { w.ViewKey = [32]byte{} },
		"height too large": func(w *store.Watch) { w.FromHeight = math.MaxInt64 + 1 },
	} {
		w := good
		mut(&w)
		err := s.RegisterWatch(ctx, w)
		require.ErrorIs(t, err, store.ErrInvalid, name)
		assert.NotContains(t, err.Error(), hex.EncodeToString(good.ViewKey[:]), name)
	}
	n, err := s.CountWatches(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing was written")
}

// A row altered in the database (a flipped byte, a ciphertext moved to another row, an
// address changed under its key) names its escrow and does not hide the good rows.
func TestATamperedWatchIsATypedErrorNamingTheEscrow(t *testing.T) {
	s, _ := openStore(t)
	ctx := testCtx(t)
	ws := []store.Watch{newWatch(t, "flipped", 7, 1), newWatch(t, "good", 8, 2), newWatch(t, "moved", 9, 3), newWatch(t, "readdressed", 10, 4)}
	for _, w := range ws {
		require.NoError(t, s.RegisterWatch(ctx, w))
	}
	db := s.DB()
	_, err := db.ExecContext(ctx, `UPDATE watched_escrows SET view_key = overlay(view_key placing '\x00'::bytea from length(view_key) - 20 for 1) WHERE escrow_id = 'flipped'`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `UPDATE watched_escrows SET view_key = (SELECT view_key FROM watched_escrows WHERE escrow_id = 'good') WHERE escrow_id = 'moved'`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `UPDATE watched_escrows SET address = $1 WHERE escrow_id = 'readdressed'`, ws[1].Address)
	require.NoError(t, err)

	got, err := s.Watches(ctx)
	assert.Equal(t, []store.Watch{ws[1]}, got, "the good row still comes back")
	require.ErrorIs(t, err, store.ErrWatchCorrupt)
	for _, id := range []string{"flipped", "moved", "readdressed"} {
		assert.Contains(t, err.Error(), fmt.Sprintf("%q", id))
	}
	var ke *store.WatchKeyError
	require.True(t, errors.As(err, &ke))
	assert.NotContains(t, err.Error(), hex.EncodeToString(ws[1].ViewKey[:]))
}

func TestAnotherKeyringCannotOpenTheWatches(t *testing.T) {
	s, dsn := openStore(t)
	ctx := testCtx(t)
	w := newWatch(t, "sealed", 11, 1)
	require.NoError(t, s.RegisterWatch(ctx, w))
	other, _ := newKeyring(t, "k2")
	got, err := openWith(t, dsn, other).Watches(ctx)
	assert.Empty(t, got)
	var ke *store.WatchKeyError
	require.True(t, errors.As(err, &ke), "%v", err)
	assert.Equal(t, "sealed", ke.EscrowID)
}

func TestAWatchNeverPrintsItsViewKey(t *testing.T) {
	w := newWatch(t, "printed", 12, 42)
	key := hex.EncodeToString(w.ViewKey[:])
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("watch", "w", w)
	js, err := json.Marshal(w)
	require.NoError(t, err)
	for _, out := range []string{
		fmt.Sprintf("%v", w), fmt.Sprintf("%+v", w), fmt.Sprintf("%#v", w), fmt.Sprintf("%x", w), fmt.Sprintf("%X", w),
		fmt.Sprintf("%s", w), fmt.Sprint([]store.Watch{w}), fmt.Sprintf("%v", &w), w.String(), logs.String(), string(js),
	} {
		assert.NotContains(t, out, key)
		assert.NotContains(t, out, fmt.Sprint(w.ViewKey[0], " ", w.ViewKey[1], " ", w.ViewKey[2]), "no key as decimal bytes")
		assert.Contains(t, out, "printed")
	}
}

// TestWatchHealthSaysWhatTheWatcherHasDone follows one escrow's watch through the states the
// late-money safety net tells apart: unknown, registered but not backfilled, backfilled and
// current, a sighting not yet delivered, and unwatched.
func TestWatchHealthSaysWhatTheWatcherHasDone(t *testing.T) {
	s, _ := openStore(t)
	ctx := testCtx(t)
	h, err := s.WatchHealth(ctx, "health")
	require.NoError(t, err)
	assert.Equal(t, store.WatchHealth{Age: -1}, h, "nothing watched, no block scanned")

	w := newWatch(t, "health", 4, 100)
	require.NoError(t, s.RegisterWatch(ctx, w))
	require.NoError(t, s.RecordScanned(ctx, store.ScannedBlock{Height: 120, Hash: "b120"}, 100))
	h, err = s.WatchHealth(ctx, "health")
	require.NoError(t, err)
	assert.True(t, h.Registered)
	assert.False(t, h.Backfilled, "registered, its past not scanned yet")
	assert.EqualValues(t, 120, h.Height)
	assert.GreaterOrEqual(t, h.Age, time.Duration(0))
	assert.Less(t, h.Age, time.Minute, "just scanned")

	require.NoError(t, s.MarkBackfilled(ctx, []store.Backfill{{EscrowID: "health", Address: w.Address, FromHeight: 100}}))
	require.NoError(t, s.SaveNotices(ctx, []store.Notice{{EscrowID: "health", TxHash: strings.Repeat("a", 64), Height: 121, Payload: []byte(`{}`)}}))
	h, err = s.WatchHealth(ctx, "health")
	require.NoError(t, err)
	assert.True(t, h.Backfilled)
	assert.Equal(t, 1, h.Pending, "a sighting waits for delivery")

	require.NoError(t, s.Unwatch(ctx, "health"))
	h, err = s.WatchHealth(ctx, "health")
	require.NoError(t, err)
	assert.False(t, h.Registered)
	assert.False(t, h.Backfilled)

	_, err = s.WatchHealth(ctx, "no spaces allowed")
	assert.ErrorIs(t, err, store.ErrInvalid)
}
