// Package escrow holds the vocabulary shared by the workflow, its activities and the
// marketplace's client: roles, phases, identifiers, and the names of every signal, query,
// update and search attribute, so that no string is spelled twice.
package escrow

import (
	"errors"
	"fmt"
	"regexp"
)

// Role is one of the three key holders of a 2-of-3 escrow.
type Role string

// The three roles, in the fixed order used everywhere a deterministic order matters.
const (
	Buyer   Role = "buyer"
	Vendor  Role = "vendor"
	Arbiter Role = "arbiter"
)

// Roles lists every role in a fixed order; iterate this, never a map, in workflow code.
var Roles = []Role{Buyer, Vendor, Arbiter}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool {
	return r == Buyer || r == Vendor || r == Arbiter
}

// Others returns the two roles other than r, in the fixed order.
func (r Role) Others() []Role {
	out := make([]Role, 0, 2)
	for _, o := range Roles {
		if o != r {
			out = append(out, o)
		}
	}
	return out
}

// Threshold and Total describe the 2-of-3 scheme every escrow uses.
const (
	Threshold = 2
	Total     = 3
)

// AddressLength is the length of a standard Monero address, which a multisig address is.
const AddressLength = 95

// ErrInvalidID is returned for an escrow ID that cannot be used: it ends up in workflow IDs
// and wallet file names, so only a safe alphabet is accepted.
var ErrInvalidID = errors.New("invalid escrow id")

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// ValidateID checks that id is 1–64 characters of [A-Za-z0-9_-] starting with a letter or
// digit, which keeps it safe as part of a file name (no "..", no "/").
func ValidateID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("%w %q: want 1-64 characters of [A-Za-z0-9_-], starting with a letter or digit", ErrInvalidID, id)
	}
	return nil
}

// WorkflowID is the Temporal workflow ID of an escrow; one escrow is one workflow ID.
func WorkflowID(escrowID string) string {
	return "escrow-" + escrowID
}

// WalletName is the wallet file name of one role of an escrow. It is derived, never
// generated, so that a retried create finds the wallet it already made.
func WalletName(escrowID string, role Role) string {
	return "escrow-" + escrowID + "-" + string(role)
}
