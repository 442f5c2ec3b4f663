package moneroaddr

import (
	"math/big"
	"slices"
)

// Monero refuses an address whose public keys do not decode as points of
// the ed25519 curve -x² + y² = 1 + d·x²·y² over GF(2^255 - 19). A compressed
// point is the little-endian y coordinate (bit 255 cleared) plus the sign of
// x in bit 255. Decoding fails when
//   - y is not canonical (y ≥ p),
//   - (y² - 1) / (d·y² + 1) is not a square, so no x exists, or
//   - x = 0 but the sign bit asks for a negative x.
//
// Only validity is needed here, not the point itself, so instead of taking a
// square root this uses the Legendre symbol. Speed is not a concern (a few
// tens of microseconds) and math/big is deterministic.

var (
	fieldP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	// curveD = -121665 / 121666 mod p.
	curveD = func() *big.Int {
		inv := new(big.Int).ModInverse(big.NewInt(121666), fieldP)
		d := new(big.Int).Mul(big.NewInt(-121665), inv)
		return d.Mod(d, fieldP)
	}()
	bigOne = big.NewInt(1)
)

// validPoint reports whether key is a valid compressed ed25519 point in the
// sense of Monero's key check.
func validPoint(key [32]byte) bool {
	negative := key[31]>>7 == 1
	le := key
	le[31] &= 0x7f
	slices.Reverse(le[:])
	y := new(big.Int).SetBytes(le[:])
	if y.Cmp(fieldP) >= 0 {
		return false
	}
	y2 := new(big.Int).Mul(y, y)
	y2.Mod(y2, fieldP)
	u := new(big.Int).Sub(y2, bigOne) // y² - 1
	u.Mod(u, fieldP)
	if u.Sign() == 0 {
		// x = 0, whose only encoding has the sign bit clear.
		return !negative
	}
	v := new(big.Int).Mul(curveD, y2) // d·y² + 1, never 0 because d is not a square
	v.Add(v, bigOne)
	v.Mod(v, fieldP)
	// u/v is a square iff u·v is (they differ by the square v²).
	uv := u.Mul(u, v)
	uv.Mod(uv, fieldP)
	return big.Jacobi(uv, fieldP) == 1
}
