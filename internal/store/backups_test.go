package store_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/keyring"
)

// keysMarker starts every fake keys file, so that error texts can be searched for it.
const keysMarker = "WalletKeysSecret"

// keysFile returns a fake wallet keys file: the marker and 1 KiB of random bytes, which no
// other column can contain by chance.
func keysFile(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 1024)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return append([]byte(keysMarker), b...)
}

// putBackup stores a fresh keys file for role at stage and returns it.
func putBackup(t *testing.T, s *store.Store, id string, role escrow.Role, stage int) []byte {
	t.Helper()
	keys := keysFile(t)
	applied, err := s.PutWalletBackup(testCtx(t), store.WalletBackup{EscrowID: id, Role: role, Stage: stage, Instance: "rpc-1", Keys: keys})
	require.NoError(t, err)
	require.True(t, applied)
	return keys
}

// backupRows counts the rows of wallet_backups.
func backupRows(t *testing.T, s *store.Store) int {
	t.Helper()
	var n int
	require.NoError(t, s.DB().GetContext(testCtx(t), &n, `SELECT count(*) FROM wallet_backups`))
	return n
}

func TestWalletBackupRoundTripAndListWithoutKeys(t *testing.T) {
	ctx := testCtx(t)
	s, _ := openStore(t)
	keys := map[escrow.Role][]byte{}
	for _, role := range []escrow.Role{escrow.Arbiter, escrow.Buyer, escrow.Vendor} {
		keys[role] = putBackup(t, s, "e1", role, 0)
	}
	b, err := s.GetWalletBackup(ctx, "e1", escrow.Vendor)
	require.NoError(t, err)
	assert.Equal(t, keys[escrow.Vendor], b.Keys)
	assert.Equal(t, sha256.Sum256(keys[escrow.Vendor]), b.SHA256, "Put fills in the hash")
	assert.Equal(t, "e1", b.EscrowID)
	assert.Equal(t, escrow.Vendor, b.Role)
	assert.Equal(t, "rpc-1", b.Instance)
	assert.False(t, b.CreatedAt.IsZero())
	assert.Nil(t, b.RetainUntil, "running escrows are kept")

	// A caller's hash is accepted when it matches.
	applied, err := s.PutWalletBackup(ctx, store.WalletBackup{EscrowID: "e1", Role: escrow.Buyer, Stage: 1,
		Instance: "rpc-2", Keys: keys[escrow.Buyer], SHA256: sha256.Sum256(keys[escrow.Buyer])})
	require.NoError(t, err)
	assert.True(t, applied)

	listed, err := s.ListWalletBackups(ctx, "e1")
	require.NoError(t, err)
	require.Len(t, listed, 3)
	for i, role := range escrow.Roles {
		assert.Equal(t, role, listed[i].Role, "listed in escrow.Roles order")
		assert.Nil(t, listed[i].Keys, "listing never opens secrets")
		assert.Equal(t, sha256.Sum256(keys[role]), listed[i].SHA256)
	}
	assert.Equal(t, 1, listed[0].Stage)
	none, err := s.ListWalletBackups(ctx, "e2")
	require.NoError(t, err)
	assert.Empty(t, none)
}

func TestWalletBackupLowerStageNeverReplacesHigherEqualDoes(t *testing.T) {
	ctx := testCtx(t)
	s, _ := openStore(t)
	put := func(stage int, instance string) ([]byte, bool) {
		keys := keysFile(t)
		applied, err := s.PutWalletBackup(ctx, store.WalletBackup{EscrowID: "e1", Role: escrow.Buyer, Stage: stage, Instance: instance, Keys: keys})
		require.NoError(t, err)
		return keys, applied
	}
	get := func() store.WalletBackup {
		b, err := s.GetWalletBackup(ctx, "e1", escrow.Buyer)
		require.NoError(t, err)
		return b
	}
	round2, applied := put(2, "rpc-1")
	require.True(t, applied)
	first := get()

	_, applied = put(1, "rpc-1")
	assert.False(t, applied, "a late retry of round 1 does not replace round 2")
	assert.Equal(t, round2, get().Keys)

	retried, applied := put(2, "rpc-9")
	assert.True(t, applied, "a retried round re-stores")
	b := get()
	assert.Equal(t, retried, b.Keys)
	assert.Equal(t, "rpc-9", b.Instance)
	assert.True(t, b.CreatedAt.Equal(first.CreatedAt), "created_at keeps the first write's time")
	assert.False(t, b.UpdatedAt.Before(first.UpdatedAt))

	ready, applied := put(4, "rpc-9")
	assert.True(t, applied)
	_, applied = put(3, "rpc-9")
	assert.False(t, applied)
	assert.Equal(t, ready, get().Keys)
	assert.Equal(t, 4, get().Stage)
}

func TestWalletBackupKeysAreNeverStoredInPlaintext(t *testing.T) {
	ctx := testCtx(t)
	s, _ := openStore(t)
	keys := putBackup(t, s, "e1", escrow.Arbiter, 3)

	// Every column's raw value as the driver returns it, and the whole row as text.
	cols := map[string]any{}
	require.NoError(t, s.DB().QueryRowxContext(ctx, `SELECT * FROM wallet_backups`).MapScan(cols))
	haystacks := map[string][]byte{}
	for name, v := range cols {
		if raw, ok := v.([]byte); ok {
			haystacks[name] = raw
		} else {
			haystacks[name] = fmt.Append(nil, v)
		}
	}
	require.Contains(t, haystacks, "keys_enc")
	var whole string
	require.NoError(t, s.DB().GetContext(ctx, &whole, `SELECT t::text FROM wallet_backups t`))
	haystacks["row as text"] = []byte(whole)

	// Every 32-byte window, raw and as the lower-case hex that bytea's text form uses.
	for i := 0; i+32 <= len(keys); i++ {
		chunk := keys[i : i+32]
		hexChunk := []byte(hex.EncodeToString(chunk))
		for name, hay := range haystacks {
			if bytes.Contains(hay, chunk) || bytes.Contains(hay, hexChunk) {
				t.Fatalf("column %s holds plaintext keys bytes %d..%d", name, i, i+32)
			}
		}
	}
}

func TestWalletBackupCopiedToAnotherRoleOrEscrowDoesNotOpen(t *testing.T) {
	ctx := testCtx(t)
	s, _ := openStore(t)
	keys := putBackup(t, s, "e1", escrow.Buyer, 1)
	putBackup(t, s, "e1", escrow.Vendor, 1)
	putBackup(t, s, "e2", escrow.Buyer, 1)

	// The hash travels with it, so only the binding to escrow and role can stop it.
	res, err := s.DB().ExecContext(ctx, `UPDATE wallet_backups t SET keys_enc = src.keys_enc, keys_sha256 = src.keys_sha256
		FROM wallet_backups src WHERE src.escrow_id = 'e1' AND src.role = 'buyer'
		AND ((t.escrow_id = 'e1' AND t.role = 'vendor') OR (t.escrow_id = 'e2' AND t.role = 'buyer'))`)
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.EqualValues(t, 2, n)

	for id, role := range map[string]escrow.Role{"e1": escrow.Vendor, "e2": escrow.Buyer} {
		b, err := s.GetWalletBackup(ctx, id, role)
		require.ErrorIs(t, err, keyring.ErrDecrypt, "%s %s", id, role)
		assert.Nil(t, b.Keys)
		assert.Contains(t, err.Error(), fmt.Sprintf("%q role %s", id, role))
		assert.Contains(t, err.Error(), "another escrow or role")
		assert.NotContains(t, err.Error(), keysMarker)
	}
	b, err := s.GetWalletBackup(ctx, "e1", escrow.Buyer)
	require.NoError(t, err)
	assert.Equal(t, keys, b.Keys, "the original still opens")
}

func TestWalletBackupFlippedCiphertextByteDoesNotOpen(t *testing.T) {
	ctx := testCtx(t)
	s, _ := openStore(t)
	keys := putBackup(t, s, "e1", escrow.Buyer, 1)
	var n int
	require.NoError(t, s.DB().GetContext(ctx, &n, `SELECT length(keys_enc) FROM wallet_backups`))
	flip := func(at int) {
		_, err := s.DB().ExecContext(ctx, `UPDATE wallet_backups SET keys_enc = set_byte(keys_enc, $1, get_byte(keys_enc, $1) # 1)`, at)
		require.NoError(t, err)
	}
	// Sealed layout for key "k1": version, id length, "k1", 12-byte nonce, ciphertext, tag.
	for at, want := range map[int]error{0: keyring.ErrMalformed, 2: keyring.ErrUnknownKey, 4: keyring.ErrDecrypt,
		16: keyring.ErrDecrypt, n / 2: keyring.ErrDecrypt, n - 1: keyring.ErrDecrypt} {
		flip(at)
		b, err := s.GetWalletBackup(ctx, "e1", escrow.Buyer)
		require.ErrorIs(t, err, want, "byte %d of %d", at, n)
		assert.Nil(t, b.Keys)
		assert.NotContains(t, err.Error(), keysMarker)
		flip(at)
		b, err = s.GetWalletBackup(ctx, "e1", escrow.Buyer)
		require.NoError(t, err, "flipped back, byte %d", at)
		assert.Equal(t, keys, b.Keys)
	}
}

func TestWalletBackupHashMismatchIsCorrupt(t *testing.T) {
	ctx := testCtx(t)
	s, _ := openStore(t)
	putBackup(t, s, "e1", escrow.Vendor, 2)
	other := sha256.Sum256([]byte("not the keys"))
	_, err := s.DB().ExecContext(ctx, `UPDATE wallet_backups SET keys_sha256 = $1`, other[:])
	require.NoError(t, err)
	b, err := s.GetWalletBackup(ctx, "e1", escrow.Vendor)
	require.ErrorIs(t, err, store.ErrBackupCorrupt)
	assert.Equal(t, store.WalletBackup{}, b, "no keys come back")
	assert.Contains(t, err.Error(), `"e1" role vendor`)
	assert.NotContains(t, err.Error(), keysMarker)
}

func TestWalletBackupUnknownIsNoBackup(t *testing.T) {
	s, _ := openStore(t)
	putBackup(t, s, "e1", escrow.Buyer, 0)
	_, err := s.GetWalletBackup(testCtx(t), "e1", escrow.Arbiter)
	require.ErrorIs(t, err, store.ErrNoBackup)
	assert.Contains(t, err.Error(), `"e1" role arbiter`)
	_, err = s.GetWalletBackup(testCtx(t), "nope", escrow.Buyer)
	require.ErrorIs(t, err, store.ErrNoBackup)
}

func TestWalletBackupInvalidInputIsRefusedAndWritesNothing(t *testing.T) {
	ctx := testCtx(t)
	s, _ := openStore(t)
	valid := store.WalletBackup{EscrowID: "e1", Role: escrow.Buyer, Stage: 1, Instance: "rpc-1", Keys: keysFile(t)}
	cases := map[string]func(b *store.WalletBackup){
		"id with slash":  func(b *store.WalletBackup) { b.EscrowID = "../etc" },
		"empty id":       func(b *store.WalletBackup) { b.EscrowID = "" },
		"unknown role":   func(b *store.WalletBackup) { b.Role = "thief" },
		"empty role":     func(b *store.WalletBackup) { b.Role = "" },
		"stage -1":       func(b *store.WalletBackup) { b.Stage = -1 },
		"stage 5":        func(b *store.WalletBackup) { b.Stage = 5 },
		"empty instance": func(b *store.WalletBackup) { b.Instance = "" },
		"NUL instance":   func(b *store.WalletBackup) { b.Instance = "rpc\x00" },
		"nil keys":       func(b *store.WalletBackup) { b.Keys = nil },
		"empty keys":     func(b *store.WalletBackup) { b.Keys = []byte{} },
		"wrong hash":     func(b *store.WalletBackup) { b.SHA256 = sha256.Sum256([]byte("other")) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			b := valid
			mutate(&b)
			applied, err := s.PutWalletBackup(ctx, b)
			require.ErrorIs(t, err, store.ErrInvalid)
			assert.False(t, applied)
			assert.NotContains(t, err.Error(), keysMarker)
		})
	}
	assert.Zero(t, backupRows(t, s), "nothing was written")

	_, err := s.GetWalletBackup(ctx, "../etc", escrow.Buyer)
	require.ErrorIs(t, err, escrow.ErrInvalidID)
	_, err = s.GetWalletBackup(ctx, "e1", "thief")
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = s.ListWalletBackups(ctx, "../etc")
	require.ErrorIs(t, err, store.ErrInvalid)
	require.ErrorIs(t, s.RetainWalletBackups(ctx, "../etc", time.Now()), store.ErrInvalid)
	require.ErrorIs(t, s.RetainWalletBackups(ctx, "e1", time.Time{}), store.ErrInvalid, "year 1 would purge at once")
}

func TestRetainThenPurgeRemovesOnlyExpiredBackups(t *testing.T) {
	ctx := testCtx(t)
	s, _ := openStore(t)
	for _, role := range escrow.Roles {
		putBackup(t, s, "expired", role, 4)
		putBackup(t, s, "grace", role, 4)
		putBackup(t, s, "running", role, 2)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, s.RetainWalletBackups(ctx, "expired", now.Add(-time.Hour)))
	require.NoError(t, s.RetainWalletBackups(ctx, "grace", now.Add(time.Hour)))
	require.NoError(t, s.RetainWalletBackups(ctx, "no-backups", now), "an escrow without backups is fine")

	// A late Put (a retried Ready backup) keeps the retention.
	putBackup(t, s, "grace", escrow.Buyer, 4)
	listed, err := s.ListWalletBackups(ctx, "grace")
	require.NoError(t, err)
	for _, b := range listed {
		require.NotNil(t, b.RetainUntil, b.Role)
		assert.True(t, b.RetainUntil.Equal(now.Add(time.Hour)), b.Role)
	}

	n, err := s.PurgeWalletBackups(ctx, now)
	require.NoError(t, err)
	assert.EqualValues(t, 3, n)
	_, err = s.GetWalletBackup(ctx, "expired", escrow.Buyer)
	require.ErrorIs(t, err, store.ErrNoBackup)
	assert.Equal(t, 6, backupRows(t, s))

	n, err = s.PurgeWalletBackups(ctx, now.Add(2*time.Hour))
	require.NoError(t, err)
	assert.EqualValues(t, 3, n)
	listed, err = s.ListWalletBackups(ctx, "running")
	require.NoError(t, err)
	assert.Len(t, listed, 3, "running escrows are never purged")
}

func TestWalletBackupConstraintsRejectBadRows(t *testing.T) {
	ctx := testCtx(t)
	s, _ := openStore(t)
	sum := sha256.Sum256([]byte("k"))
	insert := func(id, role string, stage int, instance string, enc, hash []byte) error {
		_, err := s.DB().ExecContext(ctx, `INSERT INTO wallet_backups (escrow_id, role, stage, instance, keys_enc, keys_sha256)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, role, stage, instance, enc, hash)
		return store.MapError(err)
	}
	require.NoError(t, insert("good", "buyer", 0, "i", []byte{1}, sum[:]))
	for constraint, err := range map[string]error{
		"wallet_backups_escrow_id_format":   insert("../x", "buyer", 0, "i", []byte{1}, sum[:]),
		"wallet_backups_role_known":         insert("a", "thief", 0, "i", []byte{1}, sum[:]),
		"wallet_backups_stage_range":        insert("b", "buyer", 5, "i", []byte{1}, sum[:]),
		"wallet_backups_instance_nonempty":  insert("c", "buyer", 0, "", []byte{1}, sum[:]),
		"wallet_backups_keys_sha256_length": insert("d", "buyer", 0, "i", []byte{1}, sum[:31]),
		"wallet_backups_keys_enc_not_null":  insert("e", "buyer", 0, "i", nil, sum[:]),
		"wallet_backups_pkey":               insert("good", "buyer", 1, "i", []byte{1}, sum[:]),
	} {
		var ce *store.ConstraintError
		require.True(t, errors.As(err, &ce), "%s: got %T %v", constraint, err, err)
		assert.Equal(t, constraint, ce.Constraint)
		assert.NotEqual(t, ce.Message, "", constraint)
		assert.ErrorIs(t, err, store.ErrInvalid)
	}
	assert.Equal(t, 1, backupRows(t, s))
}

// TestWalletBackupRoleConstraintMatchesGo fails when escrow.Roles changes without a migration
// that changes wallet_backups_role_known (or the other way round).
func TestWalletBackupRoleConstraintMatchesGo(t *testing.T) {
	s, _ := openStore(t)
	var def string
	require.NoError(t, s.DB().GetContext(testCtx(t), &def,
		`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'wallet_backups_role_known'`))
	var got, want []string
	for _, m := range regexp.MustCompile(`'([^']*)'`).FindAllStringSubmatch(def, -1) {
		got = append(got, m[1])
	}
	for _, r := range escrow.Roles {
		want = append(want, string(r))
	}
	assert.ElementsMatch(t, want, got)
}
