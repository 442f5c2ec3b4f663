package scan

import (
	"crypto/subtle"

	"filippo.io/edwards25519"
)

// Why a table per transaction key: the derivation 8·(a·R) is a scalar
// multiplication per (registered key, tx public key), and with thousands of
// keys R is the same for all of them. edwards25519.Point.ScalarMult spends
// most of its time on 252 doublings it cannot share between calls. With
// multiples of R precomputed once per R, as ScalarBaseMult does for G, a
// multiplication is 64 additions and 4 doublings, several times faster.
//
// The cofactor goes on the point, not the scalar: the table holds multiples of
// 8·R, and a·(8·R) = 8·(a·R) for the integer a. Folding 8 into the scalar
// instead, (8·a mod l)·R, differs from 8·(a·R) whenever R has a torsion
// component, because reducing mod l does not preserve the scalar mod 8.
//
// The view key a is secret, so the lookup is constant-time: every entry of a
// row is read and the wanted one kept with a conditional move, as
// ScalarBaseMult does; R is public, so building the table may take any time.

// tableRows is the number of rows: the 64 signed radix-16 digits of a scalar
// are consumed in two passes of 32, one row per digit pair.
const tableRows = 32

// pointTable holds row[i][j] = (j+1)·16^(2i)·P for a fixed P (40 KiB).
type pointTable [tableRows]tableRow

// tableRow is one row: the first eight multiples of its base.
type tableRow [8]edwards25519.Point

// newPointTable precomputes the multiples of p.
func newPointTable(p *edwards25519.Point) *pointTable {
	t := new(pointTable)
	base := new(edwards25519.Point).Set(p)
	for i := range t {
		t[i][0].Set(base)
		for j := 1; j < 8; j++ {
			t[i][j].Add(&t[i][j-1], base)
		}
		// The next row's base is 16^2 = 256 times this one: 8·base doubled 5 times.
		base.Set(&t[i][7])
		for range 5 {
			base.Double(base)
		}
	}
	return t
}

// digits are a scalar in signed radix 16: s = Σ d[i]·16^i with d[i] in
// [-8, 8]. Registered keys are fixed, so this is computed once per key.
type digits [64]int8

// radix16 writes the canonical scalar s (little-endian bytes) in signed radix 16.
func radix16(s *[32]byte) digits {
	var d digits
	for i, b := range s {
		d[2*i] = int8(b & 15)
		d[2*i+1] = int8(b >> 4)
	}
	// Move each digit from [0, 16) into [-8, 8) by carrying into the next;
	// the top digit of a canonical scalar (< 2^253) stays at most 8.
	for i := range 63 {
		carry := (d[i] + 8) >> 4
		d[i] -= carry << 4
		d[i+1] += carry
	}
	return d
}

// mult sets v = s·P for the scalar whose digits are d, in time independent of d.
func (t *pointTable) mult(v *edwards25519.Point, d *digits, sel, neg *edwards25519.Point) {
	// Odd digits first, times 16, then the even ones:
	// s·P = 16·Σ d[2i+1]·256^i·P + Σ d[2i]·256^i·P.
	v.Set(identity)
	for i := 1; i < 64; i += 2 {
		t[i/2].lookup(sel, neg, d[i])
		v.Add(v, sel)
	}
	for range 4 {
		v.Double(v)
	}
	for i := 0; i < 64; i += 2 {
		t[i/2].lookup(sel, neg, d[i])
		v.Add(v, sel)
	}
}

// identity is the neutral element, the start of every accumulation.
var identity = edwards25519.NewIdentityPoint()

// lookup sets dst = x·row[0] for the digit x in [-8, 8] in constant time;
// neg is scratch space.
func (row *tableRow) lookup(dst, neg *edwards25519.Point, x int8) {
	// Branch-free |x| and sign, as ref10's select does.
	sign := uint8(x) >> 7
	abs := uint8(x) ^ -sign
	abs += sign
	dst.Set(identity)
	for j := range row {
		dst.Select(&row[j], dst, subtle.ConstantTimeByteEq(abs, uint8(j+1)))
	}
	neg.Negate(dst)
	dst.Select(neg, dst, int(sign))
}
