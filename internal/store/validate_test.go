package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/keyring"
)

func validEscrow() Escrow {
	return Escrow{
		EscrowID: "unit-1", Order: escrow.Order{OrderID: "o", BuyerID: "b", VendorID: "v", ArbiterID: "a", AmountAtomic: 1},
		Status: escrow.StatusSettingUp, Phase: escrow.PhaseExchanging, Round: 2,
		MultisigInfos: map[escrow.Role]string{escrow.Buyer: "MultisigxV2Rsecret"},
		WorkflowID:    "escrow-unit-1", RunID: "r", Version: 1,
	}
}

// TestUpsertValidatesWithoutTheDatabase runs in -short mode: the Store has no connection, so
// any round trip would panic; every case must be refused before one.
func TestUpsertValidatesWithoutTheDatabase(t *testing.T) {
	keys, _, err := keyring.Generate("k1")
	require.NoError(t, err)
	s := &Store{keys: keys} // no db on purpose

	cases := map[string]func(e *Escrow){
		"negative amount":      func(e *Escrow) { e.AmountAtomic = -1 },
		"unknown status":       func(e *Escrow) { e.Status = "stolen" },
		"empty status":         func(e *Escrow) { e.Status = "" },
		"unknown phase":        func(e *Escrow) { e.Phase = "Exploded" },
		"round 4":              func(e *Escrow) { e.Round = 4 },
		"round -1":             func(e *Escrow) { e.Round = -1 },
		"address of 94 chars":  func(e *Escrow) { e.Address = strings.Repeat("4", 94) },
		"address of 96 chars":  func(e *Escrow) { e.Address = strings.Repeat("4", 96) },
		"bad escrow id":        func(e *Escrow) { e.EscrowID = "a/b" },
		"empty escrow id":      func(e *Escrow) { e.EscrowID = "" },
		"empty order id":       func(e *Escrow) { e.OrderID = "" },
		"empty buyer id":       func(e *Escrow) { e.BuyerID = "" },
		"empty run id":         func(e *Escrow) { e.RunID = "" },
		"invalid utf-8 vendor": func(e *Escrow) { e.VendorID = "\xff" },
		"version 0":            func(e *Escrow) { e.Version = 0 },
		"schema version 2":     func(e *Escrow) { e.State.SchemaVersion = 2 },
		"state round differs":  func(e *Escrow) { e.State.Round = 1 },
		"state wallet role":    func(e *Escrow) { e.State.Wallets = map[escrow.Role]string{"thief": "w"} },
		"unknown info role":    func(e *Escrow) { e.MultisigInfos["thief"] = "MultisigxV2Rsecret" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			e := validEscrow()
			mutate(&e)
			applied, err := s.Upsert(context.Background(), e)
			require.ErrorIs(t, err, ErrInvalid)
			assert.False(t, applied)
			assert.NotContains(t, err.Error(), "MultisigxV2", "errors never quote secrets")
		})
	}

	e := validEscrow()
	require.NoError(t, normalize(&e), "the base escrow is valid")
	assert.Equal(t, MultisigState{SchemaVersion: StateSchemaVersion, Phase: escrow.PhaseExchanging, Round: 2}, e.State)
	e.Address = strings.Repeat("4", escrow.AddressLength)
	require.NoError(t, normalize(&e))
}

func TestMapError(t *testing.T) {
	check := &pq.Error{Code: pqerror.CheckViolation, Constraint: "escrows_amount_nonnegative",
		Message: `new row for relation "escrows" violates check constraint "escrows_amount_nonnegative"`,
		Detail:  "Failing row contains (secret values)"}
	err := MapError(fmt.Errorf("exec: %w", check))
	var ce *ConstraintError
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, "escrows_amount_nonnegative", ce.Constraint)
	assert.Contains(t, ce.Message, "negative")
	assert.NotContains(t, err.Error(), "secret values", "Detail lists row values; never echoed")
	assert.ErrorIs(t, err, ErrInvalid)

	unknown := MapError(&pq.Error{Code: pqerror.CheckViolation, Constraint: "other_check", Message: "violates other_check"})
	require.True(t, errors.As(unknown, &ce))
	assert.Equal(t, "violates other_check", ce.Message)

	notNull := MapError(&pq.Error{Code: pqerror.NotNullViolation, Table: "escrows", Column: "run_id"})
	require.True(t, errors.As(notNull, &ce))
	assert.Equal(t, "escrows_run_id_not_null", ce.Constraint)

	other := &pq.Error{Code: pqerror.TRSerializationFailure}
	assert.Same(t, other, MapError(other), "non-constraint errors pass through")
	assert.NoError(t, MapError(nil))
}

func TestEveryNamedConstraintIsExplained(t *testing.T) {
	sql, err := os.ReadFile("schema/migrations/00001_create_escrows.sql")
	require.NoError(t, err)
	for name := range constraintMessages {
		assert.Contains(t, string(sql), "CONSTRAINT "+name+" ", name)
	}
	assert.Equal(t, strings.Count(string(sql), "CONSTRAINT "), len(constraintMessages),
		"every constraint in the migration has a message")
}
