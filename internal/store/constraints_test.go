package store_test

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// rawColumns is a valid row in raw SQL terms; each case overrides one column.
func rawColumns(id string) map[string]any {
	return map[string]any{
		"escrow_id":           id,
		"order_id":            "order-1",
		"buyer_id":            "b",
		"vendor_id":           "v",
		"arbiter_id":          "a",
		"amount_atomic":       int64(5),
		"status":              string(escrow.StatusSettingUp),
		"multisig_phase":      string(escrow.PhaseExchanging),
		"multisig_round":      1,
		"multisig_address":    nil,
		"multisig_state_json": `{"schema_version": 1, "phase": "Exchanging", "round": 1}`,
		"workflow_id":         "escrow-" + id,
		"run_id":              "r",
		"version":             int64(1),
	}
}

// rawInsert inserts cols with plain SQL, bypassing every Go check, and maps the error the
// same way the Store does.
func rawInsert(t *testing.T, s *store.Store, cols map[string]any) error {
	t.Helper()
	names := make([]string, 0, len(cols))
	for name := range cols {
		names = append(names, name)
	}
	slices.Sort(names)
	params := make([]string, len(names))
	args := make([]any, len(names))
	for i, name := range names {
		params[i] = fmt.Sprintf("$%d", i+1)
		if name == "multisig_state_json" {
			params[i] += "::jsonb"
		}
		args[i] = cols[name]
	}
	q := `INSERT INTO escrows (` + strings.Join(names, ", ") + `) VALUES (` + strings.Join(params, ", ") + `)`
	_, err := s.DB().ExecContext(testCtx(t), q, args...)
	return store.MapError(err)
}

func TestConstraintsRejectBadRows(t *testing.T) {
	s, _ := openStore(t)
	require.NoError(t, rawInsert(t, s, rawColumns("good-row")), "the base row is valid")

	cases := []struct {
		name, column string
		value        any
		constraint   string
	}{
		{"negative amount", "amount_atomic", int64(-1), "escrows_amount_nonnegative"},
		{"unknown status", "status", "stolen", "escrows_status_known"},
		{"unknown phase", "multisig_phase", "Exploded", "escrows_phase_known"},
		{"round 4", "multisig_round", 4, "escrows_round_range"},
		{"round -1", "multisig_round", -1, "escrows_round_range"},
		{"address of 94 chars", "multisig_address", strings.Repeat("4", 94), "escrows_address_length"},
		{"address of 96 chars", "multisig_address", strings.Repeat("4", 96), "escrows_address_length"},
		{"empty address", "multisig_address", "", "escrows_address_length"},
		{"id with slash", "escrow_id", "../etc", "escrows_escrow_id_format"},
		{"empty id", "escrow_id", "", "escrows_escrow_id_format"},
		{"id of 65 chars", "escrow_id", strings.Repeat("x", 65), "escrows_escrow_id_format"},
		{"id with non-ascii", "escrow_id", "é", "escrows_escrow_id_format"},
		{"id with newline", "escrow_id", "a\nb", "escrows_escrow_id_format"},
		{"missing schema_version", "multisig_state_json", `{"phase": "Exchanging"}`, "escrows_state_schema_version"},
		{"string schema_version", "multisig_state_json", `{"schema_version": "1"}`, "escrows_state_schema_version"},
		{"state is an array", "multisig_state_json", `[1]`, "escrows_state_schema_version"},
		{"state is json null", "multisig_state_json", `null`, "escrows_state_schema_version"},
		{"empty order id", "order_id", "", "escrows_order_id_nonempty"},
		{"empty buyer id", "buyer_id", "", "escrows_buyer_id_nonempty"},
		{"empty vendor id", "vendor_id", "", "escrows_vendor_id_nonempty"},
		{"empty arbiter id", "arbiter_id", "", "escrows_arbiter_id_nonempty"},
		{"empty workflow id", "workflow_id", "", "escrows_workflow_id_nonempty"},
		{"empty run id", "run_id", "", "escrows_run_id_nonempty"},
		{"version 0", "version", int64(0), "escrows_version_positive"},
		{"null order id", "order_id", nil, "escrows_order_id_not_null"},
		{"null state", "multisig_state_json", nil, "escrows_multisig_state_json_not_null"},
		{"duplicate id", "escrow_id", "good-row", "escrows_pkey"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cols := rawColumns(fmt.Sprintf("bad-%d", i))
			cols[c.column] = c.value
			err := rawInsert(t, s, cols)
			var ce *store.ConstraintError
			require.True(t, errors.As(err, &ce), "want *ConstraintError, got %T %v", err, err)
			assert.Equal(t, c.constraint, ce.Constraint)
			assert.NotEmpty(t, ce.Message)
			assert.Contains(t, err.Error(), c.constraint, "the message names the constraint")
			assert.ErrorIs(t, err, store.ErrInvalid, "a refused row is never worth retrying")
		})
	}

	var n int
	require.NoError(t, s.DB().GetContext(testCtx(t), &n, `SELECT count(*) FROM escrows`))
	assert.Equal(t, 1, n, "only the valid row is stored")
}

func TestConstraintsAcceptEveryKnownValue(t *testing.T) {
	s, _ := openStore(t)
	for i, st := range escrow.Statuses {
		cols := rawColumns(fmt.Sprintf("status-%d", i))
		cols["status"] = string(st)
		require.NoError(t, rawInsert(t, s, cols), st)
	}
	for i, p := range escrow.Phases {
		cols := rawColumns(fmt.Sprintf("phase-%d", i))
		cols["multisig_phase"] = string(p)
		require.NoError(t, rawInsert(t, s, cols), p)
	}
	for round := 0; round <= escrow.Rounds; round++ {
		cols := rawColumns(fmt.Sprintf("round-%d", round))
		cols["multisig_round"] = round
		require.NoError(t, rawInsert(t, s, cols), round)
	}
	cols := rawColumns("with-address")
	cols["multisig_address"] = address(1)
	require.NoError(t, rawInsert(t, s, cols))
	cols = rawColumns(strings.Repeat("z", 64))
	cols["amount_atomic"] = int64(0)
	require.NoError(t, rawInsert(t, s, cols))
}

// TestEnumConstraintsMatchGo fails when escrow.Statuses or escrow.Phases change without a
// migration that changes the CHECK lists (or the other way round).
func TestEnumConstraintsMatchGo(t *testing.T) {
	s, _ := openStore(t)
	quoted := regexp.MustCompile(`'([^']*)'`)
	values := func(constraint string) []string {
		var def string
		require.NoError(t, s.DB().GetContext(testCtx(t), &def,
			`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = $1`, constraint))
		var out []string
		for _, m := range quoted.FindAllStringSubmatch(def, -1) {
			out = append(out, m[1])
		}
		return out
	}
	var statuses, phases []string
	for _, st := range escrow.Statuses {
		statuses = append(statuses, string(st))
	}
	for _, p := range escrow.Phases {
		phases = append(phases, string(p))
	}
	assert.ElementsMatch(t, statuses, values("escrows_status_known"))
	assert.ElementsMatch(t, phases, values("escrows_phase_known"))
}
