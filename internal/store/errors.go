package store

import (
	"errors"
	"fmt"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// ErrNotFound is returned (wrapped, naming the id) by Get for an escrow the table does not hold.
var ErrNotFound = errors.New("escrow not found")

// ErrInvalid is wrapped by every refusal of a row on its merits: Go-side validation before a
// write, and (via ConstraintError.Is) the database's constraints. Retrying cannot fix it.
var ErrInvalid = errors.New("invalid escrow")

// ConstraintError is a row the schema refused: the name of the constraint it broke and a
// readable explanation. It never carries the row's values (pq's Detail lists them all).
type ConstraintError struct {
	// Constraint is the constraint's name, e.g. "escrows_amount_nonnegative". For a NOT NULL
	// violation, which PostgreSQL < 18 leaves unnamed, it is "<table>_<column>_not_null".
	Constraint string
	// Message says which rule the row broke, in words.
	Message string
}

// Error implements error.
func (e *ConstraintError) Error() string {
	return fmt.Sprintf("store: row refused by constraint %s: %s", e.Constraint, e.Message)
}

// Is makes errors.Is(err, ErrInvalid) true, so callers need one check for "never retry".
func (e *ConstraintError) Is(target error) bool {
	return target == ErrInvalid
}

// constraintMessages explains each named constraint of the migrations in words.
var constraintMessages = map[string]string{
	"escrows_pkey":                 "an escrow with this escrow_id already exists",
	"escrows_escrow_id_format":     "escrow_id must be 1-64 characters of [A-Za-z0-9_-], starting with a letter or digit",
	"escrows_order_id_nonempty":    "order_id must not be empty",
	"escrows_buyer_id_nonempty":    "buyer_id must not be empty",
	"escrows_vendor_id_nonempty":   "vendor_id must not be empty",
	"escrows_arbiter_id_nonempty":  "arbiter_id must not be empty",
	"escrows_amount_nonnegative":   "amount_atomic (piconero) must not be negative",
	"escrows_status_known":         "status must be one of escrow.Statuses",
	"escrows_phase_known":          "multisig_phase must be one of escrow.Phases",
	"escrows_round_range":          "multisig_round must be between 0 and 3",
	"escrows_address_length":       "multisig_address must be NULL or exactly 95 characters",
	"escrows_state_schema_version": `multisig_state_json must be an object with a numeric "schema_version"`,
	"escrows_workflow_id_nonempty": "workflow_id must not be empty",
	"escrows_run_id_nonempty":      "run_id must not be empty",
	"escrows_version_positive":     "version must be greater than 0",
}

// MapError turns a PostgreSQL constraint violation (check 23514, not null 23502, unique
// 23505) into a *ConstraintError and returns every other error unchanged. Use it on errors
// of raw SQL run through DB() too, so that they read the same as the Store's.
func MapError(err error) error {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return err
	}
	switch pqErr.Code {
	case pqerror.CheckViolation, pqerror.UniqueViolation:
		msg, ok := constraintMessages[pqErr.Constraint]
		if !ok {
			// pq's Message names the relation and constraint but, unlike Detail, no values.
			msg = pqErr.Message
		}
		return &ConstraintError{Constraint: pqErr.Constraint, Message: msg}
	case pqerror.NotNullViolation:
		name := pqErr.Constraint
		if name == "" {
			name = pqErr.Table + "_" + pqErr.Column + "_not_null"
		}
		return &ConstraintError{Constraint: name, Message: fmt.Sprintf("column %s must not be NULL", pqErr.Column)}
	}
	return err
}

// invalidf returns an error wrapping ErrInvalid, for Go-side validation.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
