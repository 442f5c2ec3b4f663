package store_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/internal/store/storetest"
	"github.com/xmr-escrow/xmr-escrow/keyring"
)

func TestUpsertInsertsThenOnlyMovesForward(t *testing.T) {
	ctx := testCtx(t)
	s, _ := openStore(t)

	applied, err := s.Upsert(ctx, sample("fwd", 1))
	require.NoError(t, err)
	require.True(t, applied)
	first, err := s.Get(ctx, "fwd")
	require.NoError(t, err)
	requireSameContent(t, sample("fwd", 1), first)
	assert.False(t, first.CreatedAt.IsZero())

	applied, err = s.Upsert(ctx, sample("fwd", 1))
	require.NoError(t, err)
	assert.False(t, applied, "the same version again (a retry) is not applied")

	time.Sleep(10 * time.Millisecond) // so that a moved updated_at is visible
	applied, err = s.Upsert(ctx, sample("fwd", 3))
	require.NoError(t, err)
	require.True(t, applied)
	third, err := s.Get(ctx, "fwd")
	require.NoError(t, err)
	requireSameContent(t, sample("fwd", 3), third)
	assert.True(t, third.CreatedAt.Equal(first.CreatedAt), "created_at is kept on update")
	assert.True(t, third.UpdatedAt.After(first.UpdatedAt), "updated_at moves on update")

	applied, err = s.Upsert(ctx, sample("fwd", 2))
	require.NoError(t, err)
	assert.False(t, applied, "a lower version after a higher one is not applied")
	after, err := s.Get(ctx, "fwd")
	require.NoError(t, err)
	assert.Equal(t, third, after, "nothing changed, updated_at included")
}

func TestConcurrentOutOfOrderWritersEndAtTheHighestVersion(t *testing.T) {
	ctx := testCtx(t)
	s, _ := openStore(t)
	const writers, versions = 16, 50

	var appliedPer [versions + 1]atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, writers*versions)
	for w := range writers {
		wg.Go(func() {
			order := rand.Perm(versions)
			for _, i := range order {
				v := int64(i + 1)
				applied, err := s.Upsert(ctx, sample("race", v))
				if err != nil {
					errs <- fmt.Errorf("writer %d version %d: %w", w, v, err)
					return
				}
				if applied {
					appliedPer[v].Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	got, err := s.Get(ctx, "race")
	require.NoError(t, err)
	requireSameContent(t, sample("race", versions), got)

	total := 0
	for v := 1; v <= versions; v++ {
		n := int(appliedPer[v].Load())
		assert.LessOrEqual(t, n, 1, "version %d applied more than once", v)
		total += n
	}
	assert.Equal(t, int32(1), appliedPer[versions].Load(), "the highest version lands exactly once")
	assert.GreaterOrEqual(t, total, 1)
	assert.LessOrEqual(t, total, versions)
	t.Logf("%d of %d upserts applied", total, writers*versions)

	applied, err := s.Upsert(ctx, sample("race", 7))
	require.NoError(t, err)
	assert.False(t, applied)
	again, err := s.Get(ctx, "race")
	require.NoError(t, err)
	assert.Equal(t, got, again, "a stale write changes nothing, updated_at included")
}

func TestUpsertRejectsInvalidBeforeTheDatabase(t *testing.T) {
	ctx := testCtx(t)
	s, _ := openStore(t)
	cases := map[string]func(e *store.Escrow){
		"negative amount":     func(e *store.Escrow) { e.AmountAtomic = -1 },
		"unknown status":      func(e *store.Escrow) { e.Status = "stolen" },
		"unknown phase":       func(e *store.Escrow) { e.Phase = "Exploded"; e.State.Phase = "Exploded" },
		"round 4":             func(e *store.Escrow) { e.Round = 4; e.State.Round = 4 },
		"address of 94 chars": func(e *store.Escrow) { e.Address = strings.Repeat("4", 94) },
		"bad escrow id":       func(e *store.Escrow) { e.EscrowID = "../etc" },
		"version 0":           func(e *store.Escrow) { e.Version = 0 },
		"empty order id":      func(e *store.Escrow) { e.OrderID = "" },
		"schema version 2":    func(e *store.Escrow) { e.State.SchemaVersion = 2 },
		"state phase differs": func(e *store.Escrow) { e.State.Phase = escrow.PhaseFailed },
		"unknown info role":   func(e *store.Escrow) { e.MultisigInfos["thief"] = "x" },
		"NUL in reason":       func(e *store.Escrow) { e.State.Reason = "a\x00b" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			e := sample("valid-id", 2)
			mutate(&e)
			applied, err := s.Upsert(ctx, e)
			require.ErrorIs(t, err, store.ErrInvalid)
			assert.False(t, applied)
			assert.NotContains(t, err.Error(), secretMarker)
		})
	}
	var n int
	require.NoError(t, s.DB().GetContext(ctx, &n, `SELECT count(*) FROM escrows`))
	assert.Zero(t, n)
}

func TestUpsertFillsStateFromTheRow(t *testing.T) {
	ctx := testCtx(t)
	s, _ := openStore(t)
	e := sample("fill", 5)
	e.State = store.MultisigState{}
	e.MultisigInfos = nil
	_, err := s.Upsert(ctx, e)
	require.NoError(t, err)
	got, err := s.Get(ctx, "fill")
	require.NoError(t, err)
	assert.Equal(t, store.MultisigState{SchemaVersion: store.StateSchemaVersion, Phase: e.Phase, Round: e.Round}, got.State)
	assert.Nil(t, got.MultisigInfos, "nil infos stay nil (NULL)")
	var isNull bool
	require.NoError(t, s.DB().GetContext(ctx, &isNull, `SELECT multisig_infos_enc IS NULL FROM escrows WHERE escrow_id = 'fill'`))
	assert.True(t, isNull)
}

func TestMultisigInfosAreStoredOnlyEncrypted(t *testing.T) {
	ctx := testCtx(t)
	keys, spec := newKeyring(t, "k1")
	dsn := storetest.NewDatabase(t)
	s := openWith(t, dsn, keys)
	want := sample("secret", 4)
	_, err := s.Upsert(ctx, want)
	require.NoError(t, err)

	// Every column as text (bytea prints as hex), and the ciphertext's raw bytes.
	var whole, state, enc string
	var raw []byte
	require.NoError(t, s.DB().QueryRowxContext(ctx, `SELECT t::text, multisig_state_json::text, multisig_infos_enc::text, multisig_infos_enc
		FROM escrows t WHERE escrow_id = 'secret'`).Scan(&whole, &state, &enc, &raw))
	needleHex := hex.EncodeToString([]byte(secretMarker))
	for name, text := range map[string]string{"row": whole, "state": state, "infos": enc} {
		assert.NotContains(t, text, secretMarker, name)
		assert.NotContains(t, strings.ToLower(text), needleHex, name+" (hex)")
	}
	assert.False(t, bytes.Contains(raw, []byte(secretMarker)), "ciphertext bytes")
	assert.NotEmpty(t, raw)

	got, err := s.Get(ctx, "secret")
	require.NoError(t, err)
	assert.Equal(t, want.MultisigInfos, got.MultisigInfos, "Get opens them")

	listed, err := s.List(ctx, store.Filter{})
	require.NoError(t, err)
	require.Len(t, listed, 1)
	assert.Nil(t, listed[0].MultisigInfos, "List never opens secrets")

	// The ciphertext is bound to its escrow id: copied to another row it does not open.
	_, err = s.DB().ExecContext(ctx, `INSERT INTO escrows (escrow_id, order_id, buyer_id, vendor_id, arbiter_id,
		amount_atomic, status, multisig_phase, multisig_round, multisig_address, multisig_state_json,
		multisig_infos_enc, workflow_id, run_id, version)
		SELECT 'copied', order_id, buyer_id, vendor_id, arbiter_id, amount_atomic, status, multisig_phase,
		multisig_round, multisig_address, multisig_state_json, multisig_infos_enc, workflow_id, run_id, version
		FROM escrows WHERE escrow_id = 'secret'`)
	require.NoError(t, err)
	_, err = s.Get(ctx, "copied")
	require.ErrorIs(t, err, keyring.ErrDecrypt)
	assert.Contains(t, err.Error(), `"copied"`)
	assert.Contains(t, err.Error(), "multisig infos")
	assert.NotContains(t, err.Error(), secretMarker)

	// Another key under the same id: authentication fails, no garbage comes back.
	other, _ := newKeyring(t, "k1")
	_, err = openWith(t, dsn, other).Get(ctx, "secret")
	require.ErrorIs(t, err, keyring.ErrDecrypt)
	assert.NotContains(t, err.Error(), secretMarker)

	// A keyring without the sealing key says so; listing still works without secrets.
	stranger, _ := newKeyring(t, "k9")
	s9 := openWith(t, dsn, stranger)
	_, err = s9.Get(ctx, "secret")
	require.ErrorIs(t, err, keyring.ErrUnknownKey)
	_, err = s9.List(ctx, store.Filter{})
	require.NoError(t, err)

	// After rotation (new current key, old one kept) old rows still open.
	_, newSpec := newKeyring(t, "k2")
	rotated, err := keyring.Parse(newSpec + "," + spec)
	require.NoError(t, err)
	got, err = openWith(t, dsn, rotated).Get(ctx, "secret")
	require.NoError(t, err)
	assert.Equal(t, want.MultisigInfos, got.MultisigInfos)
}

func TestGetUnknownIsNotFound(t *testing.T) {
	s, _ := openStore(t)
	_, err := s.Get(testCtx(t), "no-such-escrow")
	require.ErrorIs(t, err, store.ErrNotFound)
	assert.Contains(t, err.Error(), "no-such-escrow")

	_, err = s.Get(testCtx(t), "../bad")
	require.ErrorIs(t, err, store.ErrInvalid)
	require.ErrorIs(t, err, escrow.ErrInvalidID)
}

func TestListFiltersOrdersAndLimits(t *testing.T) {
	ctx := testCtx(t)
	s, _ := openStore(t)
	// Versions 4 (Preparing), 1..3 (Exchanging), 7 (Ready): see sample.
	ids := []string{"l-c", "l-a", "l-b", "l-e", "l-d"}
	vers := []int64{4, 1, 2, 3, 7}
	for i, id := range ids {
		_, err := s.Upsert(ctx, sample(id, vers[i]))
		require.NoError(t, err)
	}
	idsOf := func(es []store.Escrow) []string {
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = e.EscrowID
			assert.Nil(t, e.MultisigInfos)
		}
		return out
	}

	all, err := s.List(ctx, store.Filter{})
	require.NoError(t, err)
	assert.Equal(t, ids, idsOf(all), "oldest first")

	exch, err := s.List(ctx, store.Filter{Phase: escrow.PhaseExchanging})
	require.NoError(t, err)
	assert.Equal(t, []string{"l-a", "l-b", "l-e"}, idsOf(exch))

	ready, err := s.List(ctx, store.Filter{Status: escrow.StatusReady})
	require.NoError(t, err)
	assert.Equal(t, []string{"l-d"}, idsOf(ready))
	assert.Equal(t, address(7), ready[0].Address)

	both, err := s.List(ctx, store.Filter{Status: escrow.StatusSettingUp, Phase: escrow.PhasePreparing})
	require.NoError(t, err)
	assert.Equal(t, []string{"l-c"}, idsOf(both))

	none, err := s.List(ctx, store.Filter{Status: escrow.StatusRefunded})
	require.NoError(t, err)
	assert.Empty(t, none)

	two, err := s.List(ctx, store.Filter{Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, ids[:2], idsOf(two))

	_, err = s.List(ctx, store.Filter{Status: "stolen"})
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = s.List(ctx, store.Filter{Phase: "Exploded"})
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = s.List(ctx, store.Filter{Limit: -1})
	require.ErrorIs(t, err, store.ErrInvalid)
	big, err := s.List(ctx, store.Filter{Limit: 5000})
	require.NoError(t, err)
	assert.Len(t, big, len(ids))
}
