package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// StateSchemaVersion is the MultisigState layout this package writes. Bump it (and teach the
// readers) when the layout changes incompatibly; the column's CHECK only demands a number.
const StateSchemaVersion = 1

// MultisigState is multisig_state_json: versioned so readers can evolve. It holds nothing
// secret (wallet file names and instance names are derived, not keys).
type MultisigState struct {
	SchemaVersion int                    `json:"schema_version"` // StateSchemaVersion
	Phase         escrow.Phase           `json:"phase"`
	Round         int                    `json:"round"`
	Wallets       map[escrow.Role]string `json:"wallets,omitempty"`   // wallet file names
	Instances     map[escrow.Role]string `json:"instances,omitempty"` // wallet-rpc instance per role
	Reason        string                 `json:"reason,omitempty"`
}

// Escrow is one row of the escrows table.
type Escrow struct {
	EscrowID string
	escrow.Order
	Status escrow.Status
	Phase  escrow.Phase
	Round  int
	// Address is the multisig address once Ready; "" is stored as NULL.
	Address string
	// State is stored as JSON. Upsert fills a zero SchemaVersion, Phase and Round from the
	// row and refuses values that disagree with it.
	State MultisigState
	// MultisigInfos is SECRET: the latest key-exchange message per role. It is stored only
	// sealed by the keyring, bound to the escrow id; nil is stored as NULL.
	MultisigInfos map[escrow.Role]string
	WorkflowID    string
	RunID         string
	// Version orders the writes of one escrow: a write only lands if its Version is higher
	// than the stored one.
	Version int64
	// CreatedAt and UpdatedAt are set by the database; Upsert ignores them.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// columns lists every column but the sealed infos, which only Get reads; escrow.Order's db
// tags name its columns.
const columns = `escrow_id, order_id, buyer_id, vendor_id, arbiter_id, amount_atomic,
	vendor_payout_address, buyer_refund_address, status,
	multisig_phase, multisig_round, multisig_address, multisig_state_json,
	workflow_id, run_id, version, created_at, updated_at`

// upsertSQL is one statement so that concurrent writers never interleave a read-modify-write:
// the row lock taken by ON CONFLICT makes the version comparison and the update atomic.
// created_at is not in the SET list, so it keeps the first write's time.
const upsertSQL = `INSERT INTO escrows (
	escrow_id, order_id, buyer_id, vendor_id, arbiter_id, amount_atomic, status,
	multisig_phase, multisig_round, multisig_address, multisig_state_json, multisig_infos_enc,
	workflow_id, run_id, version, vendor_payout_address, buyer_refund_address)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15, $16, $17)
ON CONFLICT (escrow_id) DO UPDATE SET
	order_id = EXCLUDED.order_id,
	buyer_id = EXCLUDED.buyer_id,
	vendor_id = EXCLUDED.vendor_id,
	arbiter_id = EXCLUDED.arbiter_id,
	amount_atomic = EXCLUDED.amount_atomic,
	vendor_payout_address = EXCLUDED.vendor_payout_address,
	buyer_refund_address = EXCLUDED.buyer_refund_address,
	status = EXCLUDED.status,
	multisig_phase = EXCLUDED.multisig_phase,
	multisig_round = EXCLUDED.multisig_round,
	multisig_address = EXCLUDED.multisig_address,
	multisig_state_json = EXCLUDED.multisig_state_json,
	multisig_infos_enc = EXCLUDED.multisig_infos_enc,
	workflow_id = EXCLUDED.workflow_id,
	run_id = EXCLUDED.run_id,
	version = EXCLUDED.version,
	updated_at = now()
WHERE escrows.version < EXCLUDED.version`

// Upsert writes e if it is new or its Version is higher than the stored one, in one
// statement, so that retries and out-of-order deliveries never move an escrow backwards.
// applied is false when the stored Version is equal or higher (a retried write lands here:
// treat it as success). Invalid rows fail with ErrInvalid before any round trip.
func (s *Store) Upsert(ctx context.Context, e Escrow) (applied bool, err error) {
	if err := normalize(&e); err != nil {
		return false, fmt.Errorf("store: upsert escrow %q: %w", e.EscrowID, err)
	}
	state, err := json.Marshal(e.State)
	if err != nil {
		return false, fmt.Errorf("store: upsert escrow %q: encode state: %w", e.EscrowID, err)
	}
	var sealed []byte
	if e.MultisigInfos != nil {
		plain, err := json.Marshal(e.MultisigInfos)
		if err != nil {
			// json's error names the type, never the values.
			return false, fmt.Errorf("store: upsert escrow %q: encode multisig infos: %w", e.EscrowID, err)
		}
		sealed, err = s.keys.Seal(plain, infosAAD(e.EscrowID))
		clear(plain)
		if err != nil {
			return false, fmt.Errorf("store: upsert escrow %q: seal multisig infos: %w", e.EscrowID, err)
		}
	}
	res, err := s.db.ExecContext(ctx, upsertSQL,
		e.EscrowID, e.OrderID, e.BuyerID, e.VendorID, e.ArbiterID, e.AmountAtomic, string(e.Status),
		string(e.Phase), e.Round, sql.NullString{String: e.Address, Valid: e.Address != ""}, string(state), sealed,
		e.WorkflowID, e.RunID, e.Version, e.VendorPayoutAddress, e.BuyerRefundAddress)
	if err != nil {
		return false, fmt.Errorf("store: upsert escrow %q version %d: %w", e.EscrowID, e.Version, MapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: upsert escrow %q version %d: rows affected: %w", e.EscrowID, e.Version, err)
	}
	return n == 1, nil
}

// infosAAD binds the sealed infos to their escrow: a ciphertext copied to another row does
// not open.
func infosAAD(escrowID string) []byte {
	return []byte("escrow:" + escrowID)
}

// row is the database shape of an Escrow.
type row struct {
	EscrowID string `db:"escrow_id"`
	escrow.Order
	Status     string         `db:"status"`
	Phase      string         `db:"multisig_phase"`
	Round      int            `db:"multisig_round"`
	Address    sql.NullString `db:"multisig_address"`
	StateJSON  []byte         `db:"multisig_state_json"`
	InfosEnc   []byte         `db:"multisig_infos_enc"`
	WorkflowID string         `db:"workflow_id"`
	RunID      string         `db:"run_id"`
	Version    int64          `db:"version"`
	CreatedAt  time.Time      `db:"created_at"`
	UpdatedAt  time.Time      `db:"updated_at"`
}

// escrow converts r, leaving MultisigInfos to the caller (only Get opens them).
func (r *row) escrow() (Escrow, error) {
	e := Escrow{
		EscrowID: r.EscrowID, Order: r.Order, Status: escrow.Status(r.Status),
		Phase: escrow.Phase(r.Phase), Round: r.Round, Address: r.Address.String,
		WorkflowID: r.WorkflowID, RunID: r.RunID, Version: r.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	// Lenient on purpose: a newer writer's extra fields are ignored and SchemaVersion tells
	// the caller which layout it read, so a rolling deploy does not break listing.
	if err := json.Unmarshal(r.StateJSON, &e.State); err != nil {
		return Escrow{}, fmt.Errorf("decode multisig_state_json: %w", err)
	}
	return e, nil
}

// Get returns the escrow with the given id, its multisig infos opened. An unknown id gives
// an error wrapping ErrNotFound; infos that do not open (another key, another row's
// ciphertext) give the keyring's error, never garbage.
func (s *Store) Get(ctx context.Context, escrowID string) (Escrow, error) {
	if err := escrow.ValidateID(escrowID); err != nil {
		return Escrow{}, fmt.Errorf("store: get escrow: %w: %w", ErrInvalid, err)
	}
	var r row
	err := s.db.GetContext(ctx, &r, `SELECT `+columns+`, multisig_infos_enc FROM escrows WHERE escrow_id = $1`, escrowID)
	if errors.Is(err, sql.ErrNoRows) {
		return Escrow{}, fmt.Errorf("store: get escrow %q: %w", escrowID, ErrNotFound)
	}
	if err != nil {
		return Escrow{}, fmt.Errorf("store: get escrow %q: %w", escrowID, err)
	}
	e, err := r.escrow()
	if err != nil {
		return Escrow{}, fmt.Errorf("store: get escrow %q: %w", escrowID, err)
	}
	if r.InfosEnc != nil {
		plain, err := s.keys.Open(r.InfosEnc, infosAAD(escrowID))
		if err != nil {
			return Escrow{}, fmt.Errorf("store: get escrow %q: open multisig infos (sealed with a key this keyring lacks, or for another escrow id): %w", escrowID, err)
		}
		err = json.Unmarshal(plain, &e.MultisigInfos)
		clear(plain)
		if err != nil {
			// Not %w: a json.SyntaxError is harmless, but say nothing that could quote plaintext.
			return Escrow{}, fmt.Errorf("store: get escrow %q: decode opened multisig infos: not a JSON object of strings", escrowID)
		}
	}
	return e, nil
}

// DefaultLimit and MaxLimit bound List.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Filter selects escrows for List; zero fields do not filter.
type Filter struct {
	Status escrow.Status
	Phase  escrow.Phase
	// Limit is the most rows returned: 0 means DefaultLimit, above MaxLimit means MaxLimit.
	Limit int
}

// List returns escrows matching f, oldest first (created_at, then escrow_id). It never reads
// the sealed multisig infos, so MultisigInfos is always nil: listing never touches secrets.
func (s *Store) List(ctx context.Context, f Filter) ([]Escrow, error) {
	var where []string
	var args []any
	if f.Status != "" {
		if !f.Status.Valid() {
			return nil, fmt.Errorf("store: list: %w", invalidf("unknown status %q", f.Status))
		}
		args = append(args, string(f.Status))
		where = append(where, fmt.Sprintf("status = $%d", len(args)))
	}
	if f.Phase != "" {
		if !validPhase(f.Phase) {
			return nil, fmt.Errorf("store: list: %w", invalidf("unknown phase %q", f.Phase))
		}
		args = append(args, string(f.Phase))
		where = append(where, fmt.Sprintf("multisig_phase = $%d", len(args)))
	}
	limit := f.Limit
	switch {
	case limit < 0:
		return nil, fmt.Errorf("store: list: %w", invalidf("negative limit %d", limit))
	case limit == 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	query := `SELECT ` + columns + ` FROM escrows`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	query += fmt.Sprintf(` ORDER BY created_at, escrow_id LIMIT $%d`, len(args))

	var rows []row
	if err := s.db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("store: list %+v: %w", f, err)
	}
	out := make([]Escrow, 0, len(rows))
	for i := range rows {
		e, err := rows[i].escrow()
		if err != nil {
			return nil, fmt.Errorf("store: list: escrow %q: %w", rows[i].EscrowID, err)
		}
		out = append(out, e)
	}
	return out, nil
}
