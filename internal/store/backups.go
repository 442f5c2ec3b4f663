package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// ErrNoBackup is returned (wrapped, naming the escrow and role) by GetWalletBackup for a
// backup the table does not hold.
var ErrNoBackup = errors.New("no wallet backup")

// ErrBackupCorrupt is returned (wrapped) by GetWalletBackup when the opened keys do not match
// their stored SHA-256: restoring them would write a wallet that may not open.
var ErrBackupCorrupt = errors.New("wallet backup corrupt")

// BackupStageReady is the stage of the backup taken at Ready, after the last key-exchange
// round; the table's wallet_backups_stage_range CHECK must allow exactly 0..BackupStageReady.
const BackupStageReady = escrow.Rounds + 1

// WalletBackup is one role's wallet keys file of one escrow, as last backed up.
type WalletBackup struct {
	EscrowID string
	Role     escrow.Role
	// Stage is 0 after create, 1..3 after each key-exchange round, 4 at Ready;
	// a lower stage never replaces a higher one.
	Stage int
	// Instance is the wallet-rpc instance that held the wallet.
	Instance string
	// Keys is SECRET: the wallet's .keys file bytes. It is stored only sealed by the keyring,
	// bound to the escrow id and role; ListWalletBackups leaves it nil.
	Keys []byte
	// SHA256 is of Keys: filled in by PutWalletBackup, checked by GetWalletBackup.
	SHA256 [32]byte
	// CreatedAt and UpdatedAt are set by the database (UpdatedAt by every applied Put);
	// PutWalletBackup ignores them.
	CreatedAt time.Time
	UpdatedAt time.Time
	// RetainUntil is nil while the escrow runs; PurgeWalletBackups deletes the row after it.
	// PutWalletBackup ignores it and keeps the stored value.
	RetainUntil *time.Time
}

// backupColumns lists every column but the sealed keys, which only Get reads.
const backupColumns = `escrow_id, role, stage, instance, keys_sha256, created_at, updated_at, retain_until`

// putBackupSQL is one statement so that concurrent writers never interleave a
// read-modify-write: the row lock taken by ON CONFLICT makes the stage comparison and the
// update atomic. An equal stage overwrites, because a retried round re-stores its wallet.
// created_at and retain_until are not in the SET list, so they keep their values.
const putBackupSQL = `INSERT INTO wallet_backups (escrow_id, role, stage, instance, keys_enc, keys_sha256)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (escrow_id, role) DO UPDATE SET
	stage = EXCLUDED.stage,
	instance = EXCLUDED.instance,
	keys_enc = EXCLUDED.keys_enc,
	keys_sha256 = EXCLUDED.keys_sha256,
	updated_at = now()
WHERE wallet_backups.stage <= EXCLUDED.stage`

// PutWalletBackup seals b.Keys and stores them unless a higher stage is already stored, in
// one statement. applied is false when the stored stage is higher (a late retry of an earlier
// round lands here: treat it as success). A zero b.SHA256 is filled in; a nonzero one must
// match b.Keys. Invalid backups fail with ErrInvalid before any round trip.
func (s *Store) PutWalletBackup(ctx context.Context, b WalletBackup) (applied bool, err error) {
	sum := sha256.Sum256(b.Keys)
	if err := validateBackup(b, sum); err != nil {
		return false, fmt.Errorf("store: put wallet backup of escrow %q role %q: %w", b.EscrowID, b.Role, err)
	}
	sealed, err := s.keys.Seal(b.Keys, keysAAD(b.EscrowID, b.Role))
	if err != nil {
		return false, fmt.Errorf("store: put wallet backup of escrow %q role %s: seal keys: %w", b.EscrowID, b.Role, err)
	}
	res, err := s.db.ExecContext(ctx, putBackupSQL, b.EscrowID, string(b.Role), b.Stage, b.Instance, sealed, sum[:])
	if err != nil {
		return false, fmt.Errorf("store: put wallet backup of escrow %q role %s stage %d: %w", b.EscrowID, b.Role, b.Stage, MapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: put wallet backup of escrow %q role %s stage %d: rows affected: %w", b.EscrowID, b.Role, b.Stage, err)
	}
	return n == 1, nil
}

// validateBackup checks b against the same rules as the table's constraints, so that a bad
// backup fails fast with ErrInvalid; sum is the SHA-256 of b.Keys. It never quotes the keys.
func validateBackup(b WalletBackup, sum [32]byte) error {
	if err := validateEscrowRole(b.EscrowID, b.Role); err != nil {
		return err
	}
	if b.Stage < 0 || b.Stage > BackupStageReady {
		return invalidf("stage %d is outside 0..%d", b.Stage, BackupStageReady)
	}
	if b.Instance == "" {
		return invalidf("instance is empty")
	}
	if err := checkText("instance", b.Instance); err != nil {
		return err
	}
	if len(b.Keys) == 0 {
		// An empty keys file is a failed read, never a wallet: storing it would replace a
		// good backup with one that restores nothing.
		return invalidf("keys are empty")
	}
	if b.SHA256 != ([32]byte{}) && b.SHA256 != sum {
		return invalidf("SHA256 does not match the keys")
	}
	return nil
}

// validateEscrowRole checks the key of a backup.
func validateEscrowRole(escrowID string, role escrow.Role) error {
	if err := escrow.ValidateID(escrowID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if !role.Valid() {
		return invalidf("unknown role %q", role)
	}
	return nil
}

// keysAAD binds the sealed keys to their escrow and role: a ciphertext copied to another row
// does not open. The escrow id cannot contain ':', so the string splits only one way.
func keysAAD(escrowID string, role escrow.Role) []byte {
	return []byte("wallet-keys:" + escrowID + ":" + string(role))
}

// backupRow is the database shape of a WalletBackup.
type backupRow struct {
	EscrowID    string       `db:"escrow_id"`
	Role        string       `db:"role"`
	Stage       int          `db:"stage"`
	Instance    string       `db:"instance"`
	KeysEnc     []byte       `db:"keys_enc"`
	KeysSHA256  []byte       `db:"keys_sha256"`
	CreatedAt   time.Time    `db:"created_at"`
	UpdatedAt   time.Time    `db:"updated_at"`
	RetainUntil sql.NullTime `db:"retain_until"`
}

// backup converts r, leaving Keys to the caller (only Get opens them).
func (r *backupRow) backup() WalletBackup {
	b := WalletBackup{
		EscrowID: r.EscrowID, Role: escrow.Role(r.Role), Stage: r.Stage, Instance: r.Instance,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	// The column's CHECK guarantees 32 bytes; a short copy would only fail Get's comparison.
	copy(b.SHA256[:], r.KeysSHA256)
	if r.RetainUntil.Valid {
		t := r.RetainUntil.Time
		b.RetainUntil = &t
	}
	return b
}

// GetWalletBackup returns the backup of role's wallet in the escrow, its keys opened and
// checked against their SHA-256. An unknown backup gives an error wrapping ErrNoBackup; keys
// that do not open (another key, another row's ciphertext, a flipped byte) give the keyring's
// error and keys that do not match their hash give ErrBackupCorrupt, never the bytes.
func (s *Store) GetWalletBackup(ctx context.Context, escrowID string, role escrow.Role) (WalletBackup, error) {
	if err := validateEscrowRole(escrowID, role); err != nil {
		return WalletBackup{}, fmt.Errorf("store: get wallet backup: %w", err)
	}
	var r backupRow
	err := s.db.GetContext(ctx, &r, `SELECT `+backupColumns+`, keys_enc FROM wallet_backups
		WHERE escrow_id = $1 AND role = $2`, escrowID, string(role))
	if errors.Is(err, sql.ErrNoRows) {
		return WalletBackup{}, fmt.Errorf("store: get wallet backup of escrow %q role %s: %w", escrowID, role, ErrNoBackup)
	}
	if err != nil {
		return WalletBackup{}, fmt.Errorf("store: get wallet backup of escrow %q role %s: %w", escrowID, role, err)
	}
	b := r.backup()
	plain, err := s.keys.Open(r.KeysEnc, keysAAD(escrowID, role))
	if err != nil {
		return WalletBackup{}, fmt.Errorf("store: get wallet backup of escrow %q role %s: open keys (sealed with a key this keyring lacks, or for another escrow or role, or altered): %w", escrowID, role, err)
	}
	// The hash is not secret, but compare in constant time anyway: it costs nothing here.
	sum := sha256.Sum256(plain)
	if subtle.ConstantTimeCompare(sum[:], b.SHA256[:]) != 1 {
		clear(plain)
		return WalletBackup{}, fmt.Errorf("store: get wallet backup of escrow %q role %s stage %d: keys do not match keys_sha256: %w", escrowID, role, b.Stage, ErrBackupCorrupt)
	}
	b.Keys = plain
	return b, nil
}

// RetainWalletBackups sets retain_until to until for every role's backup of the escrow, which
// is final: PurgeWalletBackups deletes them once until has passed (pass final time plus the
// late-money grace). It replaces an earlier value, and leaves updated_at alone because that
// dates the keys. An escrow without backups is not an error.
func (s *Store) RetainWalletBackups(ctx context.Context, escrowID string, until time.Time) error {
	if err := escrow.ValidateID(escrowID); err != nil {
		return fmt.Errorf("store: retain wallet backups: %w: %w", ErrInvalid, err)
	}
	if until.IsZero() {
		// The zero time is year 1: the next purge would delete the only copy of the keys.
		return fmt.Errorf("store: retain wallet backups of escrow %q: %w", escrowID, invalidf("retain-until time is zero"))
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE wallet_backups SET retain_until = $2 WHERE escrow_id = $1`, escrowID, until); err != nil {
		return fmt.Errorf("store: retain wallet backups of escrow %q until %s: %w", escrowID, until.Format(time.RFC3339), MapError(err))
	}
	return nil
}

// PurgeWalletBackups deletes every backup whose retain_until is before now and returns how
// many it deleted. Backups of running escrows (retain_until NULL) are never deleted.
func (s *Store) PurgeWalletBackups(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM wallet_backups WHERE retain_until < $1`, now)
	if err != nil {
		return 0, fmt.Errorf("store: purge wallet backups retained until before %s: %w", now.Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: purge wallet backups: rows affected: %w", err)
	}
	return n, nil
}

// ListWalletBackups returns the escrow's backups in escrow.Roles order (buyer, vendor,
// arbiter). It never reads the sealed keys, so Keys is always nil: listing never touches
// secrets.
func (s *Store) ListWalletBackups(ctx context.Context, escrowID string) ([]WalletBackup, error) {
	if err := escrow.ValidateID(escrowID); err != nil {
		return nil, fmt.Errorf("store: list wallet backups: %w: %w", ErrInvalid, err)
	}
	var rows []backupRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+backupColumns+` FROM wallet_backups WHERE escrow_id = $1`, escrowID); err != nil {
		return nil, fmt.Errorf("store: list wallet backups of escrow %q: %w", escrowID, err)
	}
	out := make([]WalletBackup, 0, len(rows))
	for i := range rows {
		out = append(out, rows[i].backup())
	}
	// Sorted here rather than in SQL so that escrow.Roles stays the one statement of the order.
	slices.SortFunc(out, func(a, b WalletBackup) int {
		return slices.Index(escrow.Roles, a.Role) - slices.Index(escrow.Roles, b.Role)
	})
	return out, nil
}
