package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/lib/pq"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/moneroaddr"
)

// Watch is one escrow awaiting payment, as the block watcher needs it.
//
// ViewKey is SECRET: whoever holds it sees every payment to the address. It is stored only
// sealed by the keyring, and String, GoString, Format, LogValue and MarshalJSON leave it out.
// Watch stays comparable, so a watcher can tell a changed registration with ==.
type Watch struct {
	EscrowID string
	// Address is the escrow's multisig address, a standard address.
	Address string
	// ViewKey is the address's private view key (a canonical scalar, little-endian).
	ViewKey [32]byte
	// FromHeight is the first block that may hold a payment to the address.
	FromHeight uint64
}

// redactedKey stands for the view key wherever a Watch is printed.
const redactedKey = "REDACTED"

// String shows everything but the view key.
func (w Watch) String() string {
	return fmt.Sprintf("store.Watch{EscrowID: %q, Address: %q, ViewKey: %s, FromHeight: %d}", w.EscrowID, w.Address, redactedKey, w.FromHeight)
}

// GoString is String, so %#v cannot dump the view key either.
func (w Watch) GoString() string { return w.String() }

// Format makes every fmt verb (%v, %+v, %x, %s…) print String: %x of the struct would
// otherwise print the key in hex.
func (w Watch) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, w.String()) }

// LogValue keeps the view key out of log/slog output.
func (w Watch) LogValue() slog.Value {
	return slog.GroupValue(slog.String("escrow_id", w.EscrowID), slog.String("address", w.Address),
		slog.String("view_key", redactedKey), slog.Uint64("from_height", w.FromHeight))
}

// MarshalJSON leaves the view key out, for loggers that encode by reflection (zap.Any).
func (w Watch) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		EscrowID   string `json:"escrow_id"`
		Address    string `json:"address"`
		ViewKey    string `json:"view_key"`
		FromHeight uint64 `json:"from_height"`
	}{w.EscrowID, w.Address, redactedKey, w.FromHeight})
}

// ErrWatchCorrupt is wrapped by every *WatchKeyError.
var ErrWatchCorrupt = errors.New("watched escrow's view key does not open")

// WatchKeyError is a watched_escrows row whose sealed view key does not open (another
// keyring, a ciphertext moved to another row or address, altered bytes) or is not a key. It
// names the escrow, never the bytes.
type WatchKeyError struct {
	EscrowID string
	// Err is the keyring's error, or why the opened bytes are not a key.
	Err error
}

// Error names the escrow and the cause.
func (e *WatchKeyError) Error() string {
	return fmt.Sprintf("store: %v: escrow %q: %v", ErrWatchCorrupt, e.EscrowID, e.Err)
}

// Unwrap returns the cause; errors.Is(err, ErrWatchCorrupt) holds too (see Is).
func (e *WatchKeyError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrWatchCorrupt) true.
func (e *WatchKeyError) Is(target error) bool { return target == ErrWatchCorrupt }

// viewKeyAAD binds a sealed view key to its escrow and address: a ciphertext copied to
// another row, or a row whose address was changed, does not open. Neither an escrow ID nor
// an address contains ':', so the string splits only one way.
func viewKeyAAD(escrowID, address string) []byte {
	return []byte("watch-view-key:" + escrowID + ":" + address)
}

// registerWatchSQL upserts in one statement. A repeated registration of the same address
// (a retried activity) keeps the lower from_height, so no block is skipped, and the first
// registered_at. Another address starts over: its past was never scanned (scanned_from).
const registerWatchSQL = `INSERT INTO watched_escrows (escrow_id, address, view_key, from_height)
VALUES ($1, $2, $3, $4)
ON CONFLICT (escrow_id) DO UPDATE SET
	view_key = EXCLUDED.view_key,
	from_height = CASE WHEN watched_escrows.address = EXCLUDED.address
		THEN LEAST(watched_escrows.from_height, EXCLUDED.from_height) ELSE EXCLUDED.from_height END,
	scanned_from = CASE WHEN watched_escrows.address = EXCLUDED.address
		THEN watched_escrows.scanned_from ELSE NULL END,
	address = EXCLUDED.address`

// RegisterWatch records w for the block watcher, sealing its view key with the store's
// keyring; registering an escrow again replaces its row (keeping the lower FromHeight for the
// same address). A bad ID, an address that is not a valid standard Monero address, or a view
// key that is not the address's fail with ErrInvalid before any round trip.
func (s *Store) RegisterWatch(ctx context.Context, w Watch) error {
	if err := validateWatch(w); err != nil {
		return fmt.Errorf("store: register watch of escrow %q: %w", w.EscrowID, err)
	}
	sealed, err := s.keys.Seal(w.ViewKey[:], viewKeyAAD(w.EscrowID, w.Address))
	if err != nil {
		return fmt.Errorf("store: register watch of escrow %q: seal view key: %w", w.EscrowID, err)
	}
	if _, err := s.db.ExecContext(ctx, registerWatchSQL, w.EscrowID, w.Address, sealed, int64(w.FromHeight)); err != nil {
		return fmt.Errorf("store: register watch of escrow %q: %w", w.EscrowID, MapError(err))
	}
	return nil
}

// validateWatch checks w against the table's rules and more: a key that is not the
// address's would make the watcher blind to it without a word. It never quotes the key.
func validateWatch(w Watch) error {
	if err := escrow.ValidateID(w.EscrowID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	a, err := moneroaddr.Parse(w.Address)
	if err != nil {
		return fmt.Errorf("%w: address: %w", ErrInvalid, err)
	}
	if a.Kind != moneroaddr.Standard {
		return invalidf("address is a %s address; a multisig address is standard", a.Kind)
	}
	if w.FromHeight > math.MaxInt64 {
		return invalidf("from height %d does not fit a bigint", w.FromHeight)
	}
	if !a.MatchesViewKey(w.ViewKey) {
		return invalidf("the view key is not the address's")
	}
	return nil
}

// Unwatch removes the escrow from the block watcher, its address and the payout hashes it
// follows (FollowPayout); an escrow not watched is no error.
func (s *Store) Unwatch(ctx context.Context, escrowID string) error {
	if err := escrow.ValidateID(escrowID); err != nil {
		return fmt.Errorf("store: unwatch: %w: %w", ErrInvalid, err)
	}
	if _, err := s.db.ExecContext(ctx, `WITH f AS (DELETE FROM followed_payouts WHERE escrow_id = $1)
DELETE FROM watched_escrows WHERE escrow_id = $1`, escrowID); err != nil {
		return fmt.Errorf("store: unwatch escrow %q: %w", escrowID, err)
	}
	return nil
}

// watchRow is the database shape of a Watch.
type watchRow struct {
	EscrowID   string `db:"escrow_id"`
	Address    string `db:"address"`
	ViewKey    []byte `db:"view_key"`
	FromHeight int64  `db:"from_height"`
}

// Watches returns every watched escrow, view keys opened, ordered by escrow ID. A row whose
// key does not open is left out and reported as a *WatchKeyError (several are joined with
// errors.Join), while the rows that do open are still returned alongside the error: one
// tampered row must not blind the watcher to every other escrow. A failed query returns no
// rows.
func (s *Store) Watches(ctx context.Context) ([]Watch, error) {
	var rows []watchRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT escrow_id, address, view_key, from_height FROM watched_escrows ORDER BY escrow_id`); err != nil {
		return nil, fmt.Errorf("store: read watched escrows: %w", err)
	}
	out := make([]Watch, 0, len(rows))
	var bad []error
	for i := range rows {
		w, err := s.openWatch(&rows[i])
		if err != nil {
			bad = append(bad, err)
			continue
		}
		out = append(out, w)
	}
	return out, errors.Join(bad...)
}

// openWatch unseals r's view key into a Watch.
func (s *Store) openWatch(r *watchRow) (Watch, error) {
	plain, err := s.keys.Open(r.ViewKey, viewKeyAAD(r.EscrowID, r.Address))
	if err != nil {
		return Watch{}, &WatchKeyError{EscrowID: r.EscrowID, Err: err}
	}
	defer clear(plain)
	if len(plain) != len(Watch{}.ViewKey) {
		return Watch{}, &WatchKeyError{EscrowID: r.EscrowID, Err: fmt.Errorf("opened %d bytes, a view key has 32", len(plain))}
	}
	if r.FromHeight < 0 {
		return Watch{}, &WatchKeyError{EscrowID: r.EscrowID, Err: fmt.Errorf("from_height %d is negative", r.FromHeight)}
	}
	w := Watch{EscrowID: r.EscrowID, Address: r.Address, FromHeight: uint64(r.FromHeight)}
	copy(w.ViewKey[:], plain)
	return w, nil
}

// CountWatches returns how many escrows the block watcher watches.
func (s *Store) CountWatches(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM watched_escrows`); err != nil {
		return 0, fmt.Errorf("store: count watched escrows: %w", err)
	}
	return n, nil
}

// Backfill is a registration whose past the block watcher must scan: the blocks from
// FromHeight up to those it scans with the escrow's key from now on.
type Backfill struct {
	EscrowID   string `db:"escrow_id"`
	Address    string `db:"address"`
	FromHeight uint64 `db:"from_height"`
}

// PendingBackfills lists the registrations whose past has not been scanned from their
// from_height yet: new ones, and those registered again with a lower height or another
// address. A new leader reads them, so a backfill its predecessor missed is not lost.
func (s *Store) PendingBackfills(ctx context.Context) ([]Backfill, error) {
	var out []Backfill
	if err := s.db.SelectContext(ctx, &out, `SELECT escrow_id, address, from_height FROM watched_escrows
WHERE scanned_from IS NULL OR scanned_from > from_height ORDER BY escrow_id`); err != nil {
		return nil, fmt.Errorf("store: read pending backfills: %w", err)
	}
	return out, nil
}

// MarkBackfilled records that each registration's past was scanned from its FromHeight. A
// registration changed meanwhile (another address, a lower height) stays pending.
func (s *Store) MarkBackfilled(ctx context.Context, done []Backfill) error {
	if len(done) == 0 {
		return nil
	}
	ids, addrs, froms := make([]string, len(done)), make([]string, len(done)), make([]int64, len(done))
	for i, b := range done {
		ids[i], addrs[i], froms[i] = b.EscrowID, b.Address, int64(b.FromHeight)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE watched_escrows w SET scanned_from = b.from_height
FROM unnest($1::text[], $2::text[], $3::bigint[]) AS b(escrow_id, address, from_height)
WHERE w.escrow_id = b.escrow_id AND w.address = b.address AND (w.scanned_from IS NULL OR w.scanned_from > b.from_height)`,
		pq.Array(ids), pq.Array(addrs), pq.Array(froms)); err != nil {
		return fmt.Errorf("store: mark %d registrations backfilled: %w", len(done), err)
	}
	return nil
}

// WatchHealth is what the block watcher's own records say about one escrow's watch: enough
// for the escrow to trust the watcher instead of asking a wallet (the late-money safety net).
type WatchHealth struct {
	// Registered: the escrow's address is watched; Backfilled: from its from_height on.
	Registered bool `db:"registered"`
	Backfilled bool `db:"backfilled"`
	// Pending counts the escrow's sightings not delivered yet.
	Pending int `db:"pending"`
	// Height is the highest block scanned, and Age how long ago it was scanned, by the
	// database's clock (the workers' clocks need not agree with it). Age is negative when no
	// block has been scanned.
	Height uint64        `db:"height"`
	Age    time.Duration `db:"-"`
}

// WatchHealth reads the escrow's watch and the watcher's progress in one statement.
func (s *Store) WatchHealth(ctx context.Context, escrowID string) (WatchHealth, error) {
	if err := escrow.ValidateID(escrowID); err != nil {
		return WatchHealth{}, fmt.Errorf("store: watch health: %w: %w", ErrInvalid, err)
	}
	var row struct {
		WatchHealth
		AgeMillis int64 `db:"age_ms"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT
  EXISTS (SELECT 1 FROM watched_escrows WHERE escrow_id = $1) AS registered,
  COALESCE((SELECT scanned_from IS NOT NULL AND scanned_from <= from_height
            FROM watched_escrows WHERE escrow_id = $1), false) AS backfilled,
  (SELECT count(*) FROM watcher_notices WHERE escrow_id = $1) AS pending,
  COALESCE((SELECT max(height) FROM watcher_blocks), 0) AS height,
  COALESCE((SELECT (EXTRACT(EPOCH FROM now() - scanned_at) * 1000)::bigint
            FROM watcher_blocks ORDER BY height DESC LIMIT 1), -1) AS age_ms`, escrowID)
	if err != nil {
		return WatchHealth{}, fmt.Errorf("store: watch health of escrow %q: %w", escrowID, err)
	}
	h := row.WatchHealth
	h.Age = time.Duration(row.AgeMillis) * time.Millisecond
	if row.AgeMillis < 0 {
		h.Age = -1
	}
	return h, nil
}
