package moneroaddr

import (
	"crypto/subtle"

	"filippo.io/edwards25519"
)

// Monero refuses an address whose public keys do not decode as points of
// the ed25519 curve -x² + y² = 1 + d·x²·y² over GF(2^255 - 19). A compressed
// point is the little-endian y coordinate (bit 255 cleared) plus the sign of
// x in bit 255. Monero's ge_frombytes_vartime (which check_key, and so
// validate_address, uses) fails when
//   - y is not canonical (y ≥ p),
//   - (y² - 1) / (d·y² + 1) is not a square, so no x exists, or
//   - x = 0 but the sign bit asks for a negative x.
//
// It does not reject the identity or other small-order points (y = 0, the
// point of order 4, is a valid key to the wallet), and neither does this.
//
// filippo.io/edwards25519 decodes in constant time and rejects the second
// case, but on purpose accepts the other two (it follows the lax decoding of
// most ed25519 verifiers, not RFC 8032 or Monero): it reduces y mod p and
// ignores a sign bit on x = 0. Both kinds of input decode to a point whose
// canonical encoding differs from the input, while every encoding Monero
// accepts is the canonical one of the point it decodes to. So a key is
// valid exactly when it decodes and re-encodes to the same 32 bytes.
// TestValidPointMatchesReference checks this against a direct math/big
// transcription of the three rules above.

// validPoint reports whether key is a valid compressed ed25519 point in the
// sense of Monero's key check.
func validPoint(key [32]byte) bool {
	p, err := new(edwards25519.Point).SetBytes(key[:])
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(p.Bytes(), key[:]) == 1
}
