package scan

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"filippo.io/edwards25519"
)

// ErrBadKey is wrapped by every error about a registered key.
var ErrBadKey = errors.New("scan: bad registered key")

// KeyError says which registered key is unusable and why, without its bytes.
type KeyError struct {
	Index  int    // position in the slice given to NewScanner
	ID     string // the caller's ID for it
	Reason string
}

// Error names the key by position and ID only: the view key is a secret.
func (e *KeyError) Error() string {
	return fmt.Sprintf("%v %d (%q): %s", ErrBadKey, e.Index, e.ID, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBadKey) hold.
func (e *KeyError) Unwrap() error { return ErrBadKey }

// Key is one watched address: what a light-wallet server needs to recognise
// its outputs. The view key is a secret; Key's String, Format, LogValue and
// MarshalJSON all leave it out.
type Key struct {
	// ID is the caller's opaque name for the address (an escrow ID, say);
	// matches carry it back.
	ID string
	// View is the private view key, a canonical scalar (32 bytes, little-endian),
	// as query_key view_key returns it in hex.
	View [32]byte
	// Spend is the public spend key, bytes 1–33 of the decoded address.
	Spend [32]byte
	// Subaddress says Spend is a subaddress's, paid through additional tx
	// keys; a main address (an escrow's multisig address) leaves it false
	// and costs no derivation per additional key (prepare.go says why).
	Subaddress bool
}

// redacted replaces the view key wherever a Key is printed.
const redacted = "REDACTED"

// String shows the ID and public spend key, never the view key.
func (k Key) String() string {
	return fmt.Sprintf("scan.Key{ID: %q, View: %s, Spend: %x}", k.ID, redacted, k.Spend)
}

// GoString is String, so %#v cannot dump the view key either.
func (k Key) GoString() string { return k.String() }

// Format makes every fmt verb (%v, %+v, %x, %s…) print String.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue keeps the view key out of log/slog output.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.ID), slog.String("view", redacted), slog.String("spend", fmt.Sprintf("%x", k.Spend)))
}

// MarshalJSON keeps the view key out of JSON, including loggers that reflect
// structs into JSON (zap.Any): a Key is not meant to be stored this way.
func (k Key) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"id":%q,"view":%q,"spend":"%x"}`, k.ID, redacted, k.Spend), nil
}

// preparedKey is a registered key decoded once for the hot loop.
type preparedKey struct {
	id     string
	view   edwards25519.Scalar // for Point.ScalarMult (few keys)
	digits digits              // the same scalar in signed radix 16, for pointTable.mult
	spend  edwards25519.Point
	// spendEnc is Spend, compared with the spend keys the identity
	// derivation leads to.
	spendEnc   [32]byte
	subaddress bool
}

// prepareKeys decodes and checks every key; IDs must be unique, or one
// output would be reported twice under the same name.
func prepareKeys(keys []Key) ([]preparedKey, error) {
	out := make([]preparedKey, len(keys))
	seen := make(map[string]int, len(keys))
	for i := range keys {
		k := &keys[i]
		if j, dup := seen[k.ID]; dup {
			return nil, &KeyError{Index: i, ID: k.ID, Reason: fmt.Sprintf("same ID as key %d", j)}
		}
		seen[k.ID] = i
		p := &out[i]
		p.id = k.ID
		// wallet2 asserts sc_check on the view key; a non-canonical one
		// cannot come from a real wallet.
		if _, err := p.view.SetCanonicalBytes(k.View[:]); err != nil {
			return nil, &KeyError{Index: i, ID: k.ID, Reason: "view key is not a canonical scalar"}
		}
		p.digits = radix16(&k.View)
		b, ok := decodePoint(&k.Spend)
		if !ok {
			return nil, &KeyError{Index: i, ID: k.ID, Reason: "spend key is not a valid point"}
		}
		p.spend.Set(b)
		p.spendEnc, p.subaddress = k.Spend, k.Subaddress
	}
	return out, nil
}
