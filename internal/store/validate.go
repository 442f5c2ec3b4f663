package store

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// normalize fills the derivable parts of e.State and checks e against the same rules as the
// table's constraints, so that a bad row fails fast with ErrInvalid and no round trip. The
// constraints stay the last line for writers that bypass this package.
func normalize(e *Escrow) error {
	if err := escrow.ValidateID(e.EscrowID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	for _, f := range []struct{ name, value string }{
		{"order_id", e.OrderID}, {"buyer_id", e.BuyerID}, {"vendor_id", e.VendorID},
		{"arbiter_id", e.ArbiterID}, {"workflow_id", e.WorkflowID}, {"run_id", e.RunID},
	} {
		if f.value == "" {
			return invalidf("%s is empty", f.name)
		}
		if err := checkText(f.name, f.value); err != nil {
			return err
		}
	}
	if e.AmountAtomic < 0 {
		return invalidf("amount_atomic %d is negative", e.AmountAtomic)
	}
	if !e.Status.Valid() {
		return invalidf("unknown status %q", e.Status)
	}
	if !validPhase(e.Phase) {
		return invalidf("unknown phase %q", e.Phase)
	}
	if e.Round < 0 || e.Round > escrow.Rounds {
		return invalidf("round %d is outside 0..%d", e.Round, escrow.Rounds)
	}
	if e.Address != "" && utf8.RuneCountInString(e.Address) != escrow.AddressLength {
		return invalidf("multisig address has %d characters, want %d", utf8.RuneCountInString(e.Address), escrow.AddressLength)
	}
	if err := checkText("multisig address", e.Address); err != nil {
		return err
	}
	// Payout addresses are checked for their network by the workflow before any write; here
	// only what the column holds: "" (a row from before they were projected) or text.
	for _, f := range []struct{ name, value string }{
		{"vendor_payout_address", e.VendorPayoutAddress}, {"buyer_refund_address", e.BuyerRefundAddress},
	} {
		if len(f.value) > 200 {
			return invalidf("%s has %d bytes, at most 200", f.name, len(f.value))
		}
		if err := checkText(f.name, f.value); err != nil {
			return err
		}
	}
	if e.Version <= 0 {
		return invalidf("version %d is not positive", e.Version)
	}
	if err := normalizeState(e); err != nil {
		return err
	}
	for role := range e.MultisigInfos {
		// Only the role is named: the values are secrets.
		if !role.Valid() {
			return invalidf("multisig infos: unknown role %q", role)
		}
	}
	return nil
}

// normalizeState defaults the state's copies of the row's phase and round and refuses
// disagreeing ones: two answers to "which phase?" in one row would be a bug.
func normalizeState(e *Escrow) error {
	st := &e.State
	if st.SchemaVersion == 0 {
		st.SchemaVersion = StateSchemaVersion
	}
	if st.SchemaVersion != StateSchemaVersion {
		return invalidf("state schema_version %d, this binary writes %d", st.SchemaVersion, StateSchemaVersion)
	}
	if st.Phase == "" {
		st.Phase = e.Phase
	}
	if st.Phase != e.Phase {
		return invalidf("state phase %q disagrees with phase %q", st.Phase, e.Phase)
	}
	if st.Round == 0 {
		st.Round = e.Round
	}
	if st.Round != e.Round {
		return invalidf("state round %d disagrees with round %d", st.Round, e.Round)
	}
	for name, m := range map[string]map[escrow.Role]string{"wallets": st.Wallets, "instances": st.Instances} {
		for role, v := range m {
			if !role.Valid() {
				return invalidf("state %s: unknown role %q", name, role)
			}
			if err := checkText("state "+name, v); err != nil {
				return err
			}
		}
	}
	return checkText("state reason", st.Reason)
}

// checkText refuses what PostgreSQL's text type refuses (NUL, invalid UTF-8), so that such a
// value fails here as invalid instead of as an encoding error from the server.
func checkText(name, v string) error {
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return invalidf("%s is not valid UTF-8 text without NUL", name)
	}
	return nil
}

// validPhase reports whether p is one of escrow.Phases.
func validPhase(p escrow.Phase) bool {
	for _, k := range escrow.Phases {
		if p == k {
			return true
		}
	}
	return false
}
