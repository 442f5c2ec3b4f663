package scan

import (
	"crypto/subtle"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// Why a table per transaction key: the derivation 8·(a·R) is a scalar
// multiplication per (registered key, tx public key), and with thousands of
// keys R is the same for all of them. edwards25519.Point.ScalarMult spends
// most of its time on 252 doublings it cannot share between calls. With
// multiples of R precomputed once per R, as ScalarBaseMult does for G, a
// multiplication is 64 additions and 4 doublings.
//
// The entries are affine and in the "Niels" form ref10 uses for its base
// table (y+x, y−x, 2d·x·y): adding one costs 7 field multiplications where a
// general addition of two edwards25519.Points costs 9 plus a conversion, and
// a constant-time lookup reads 3 field elements per entry instead of 4. The
// arithmetic is written here on filippo.io/edwards25519/field because the
// package keeps these forms unexported; the formulas are ref10's ge_madd,
// ge_p2_dbl and the conversions between them (Hisil–Wong–Carter–Dawson 2008,
// "Twisted Edwards curves revisited", extended coordinates).
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

// pointTable holds row[i][j] = (j+1)·16^(2i)·P for a fixed P (30 KiB).
type pointTable [tableRows]tableRow

// tableRow is one row: the first eight multiples of its base.
type tableRow [8]niels

// niels is an affine point (x, y) as (y+x, y−x, 2d·x·y), ready to be added.
type niels struct {
	yPlusX, yMinusX, xy2d field.Element
}

// extended is a point in extended coordinates: x = X/Z, y = Y/Z, x·y = T/Z.
type extended struct {
	X, Y, Z, T field.Element
}

// completed is the sum or double before its conversion: x = X/Z, y = Y/T.
type completed struct {
	X, Y, Z, T field.Element
}

// d2 is 2·d for the curve constant d = −121665/121666.
var d2 = func() *field.Element {
	var num, den, d field.Element
	num.Mult32(new(field.Element).One(), 121665)
	num.Negate(&num)
	den.Mult32(new(field.Element).One(), 121666)
	d.Multiply(&num, den.Invert(&den))
	return d.Add(&d, &d)
}()

// newPointTable precomputes the multiples of p and makes them affine with a
// single inversion.
func newPointTable(p *edwards25519.Point) *pointTable {
	var pts [tableRows * 8]edwards25519.Point
	base := new(edwards25519.Point).Set(p)
	for i := range tableRows {
		row := pts[i*8 : i*8+8]
		row[0].Set(base)
		for j := 1; j < 8; j++ {
			row[j].Add(&row[j-1], base)
		}
		// The next row's base is 16^2 = 256 times this one: 8·base doubled 5 times.
		base.Set(&row[7])
		for range 5 {
			base.Double(base)
		}
	}
	var xs, ys, zs [tableRows * 8]field.Element
	for i := range pts {
		x, y, z, _ := pts[i].ExtendedCoordinates()
		xs[i], ys[i], zs[i] = *x, *y, *z
	}
	invertAll(zs[:], make([]field.Element, len(zs)))
	t := new(pointTable)
	for i := range pts {
		var x, y field.Element
		x.Multiply(&xs[i], &zs[i])
		y.Multiply(&ys[i], &zs[i])
		n := &t[i/8][i%8]
		n.yPlusX.Add(&y, &x)
		n.yMinusX.Subtract(&y, &x)
		n.xy2d.Multiply(&x, &y)
		n.xy2d.Multiply(&n.xy2d, d2)
	}
	return t
}

// invertAll replaces each element of zs by its inverse with one field
// inversion (Montgomery's trick); scratch holds len(zs) elements. No element
// may be zero: a projective Z never is.
func invertAll(zs, scratch []field.Element) {
	if len(zs) == 0 {
		return
	}
	// scratch[i] = zs[0]·…·zs[i].
	scratch[0].Set(&zs[0])
	for i := 1; i < len(zs); i++ {
		scratch[i].Multiply(&scratch[i-1], &zs[i])
	}
	var inv, t field.Element
	inv.Invert(&scratch[len(zs)-1])
	for i := len(zs) - 1; i > 0; i-- {
		t.Multiply(&inv, &scratch[i-1]) // 1/zs[i]
		inv.Multiply(&inv, &zs[i])      // 1/(zs[0]·…·zs[i−1])
		zs[i].Set(&t)
	}
	zs[0].Set(&inv)
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

// multScratch is the space one multiplication works in, kept by its caller
// so that the hot loop does not allocate.
type multScratch struct {
	acc extended
	sum completed
	sel niels
}

// mult sets X:Y:Z of v to s·P for the scalar whose digits are d, in time
// independent of d; v.T is left undefined (the derivation is only encoded).
func (t *pointTable) mult(v *extended, d *digits, s *multScratch) {
	// Odd digits first, times 16, then the even ones:
	// s·P = 16·Σ d[2i+1]·256^i·P + Σ d[2i]·256^i·P.
	acc, sum, sel := &s.acc, &s.sum, &s.sel
	acc.setIdentity()
	for i := 1; i < 64; i += 2 {
		t[i/2].lookup(sel, d[i])
		sum.addNiels(acc, sel)
		acc.fromCompleted(sum)
	}
	for range 4 {
		sum.double(acc)
		acc.fromCompleted(sum)
	}
	for i := 0; i < 64; i += 2 {
		t[i/2].lookup(sel, d[i])
		sum.addNiels(acc, sel)
		if i < 62 {
			acc.fromCompleted(sum)
		}
	}
	v.X.Multiply(&sum.X, &sum.T)
	v.Y.Multiply(&sum.Y, &sum.Z)
	v.Z.Multiply(&sum.Z, &sum.T)
}

// setIdentity sets v to the neutral element (0, 1).
func (v *extended) setIdentity() {
	v.X.Zero()
	v.Y.One()
	v.Z.One()
	v.T.Zero()
}

// fromCompleted converts a completed point to extended coordinates.
func (v *extended) fromCompleted(p *completed) {
	v.X.Multiply(&p.X, &p.T)
	v.Y.Multiply(&p.Y, &p.Z)
	v.Z.Multiply(&p.Z, &p.T)
	v.T.Multiply(&p.X, &p.Y)
}

// addNiels sets v = p + q (ref10's ge_madd).
func (v *completed) addNiels(p *extended, q *niels) {
	var yPlusX, yMinusX, pp, mm, tt2d, z2 field.Element
	yPlusX.Add(&p.Y, &p.X)
	yMinusX.Subtract(&p.Y, &p.X)
	pp.Multiply(&yPlusX, &q.yPlusX)
	mm.Multiply(&yMinusX, &q.yMinusX)
	tt2d.Multiply(&p.T, &q.xy2d)
	z2.Add(&p.Z, &p.Z)
	v.X.Subtract(&pp, &mm)
	v.Y.Add(&pp, &mm)
	v.Z.Add(&z2, &tt2d)
	v.T.Subtract(&z2, &tt2d)
}

// double sets v = 2·p from p's X, Y and Z (ref10's ge_p2_dbl).
func (v *completed) double(p *extended) {
	var xx, yy, zz2, xPlusYSq field.Element
	xx.Square(&p.X)
	yy.Square(&p.Y)
	zz2.Square(&p.Z)
	zz2.Add(&zz2, &zz2)
	xPlusYSq.Add(&p.X, &p.Y)
	xPlusYSq.Square(&xPlusYSq)
	v.Y.Add(&yy, &xx)
	v.Z.Subtract(&yy, &xx)
	v.X.Subtract(&xPlusYSq, &v.Y)
	v.T.Subtract(&zz2, &v.Z)
}

// lookup sets dst = x·row[0] for the digit x in [-8, 8] in constant time.
func (row *tableRow) lookup(dst *niels, x int8) {
	// Branch-free |x| and sign, as ref10's select does.
	sign := uint8(x) >> 7
	abs := uint8(x) ^ -sign
	abs += sign
	dst.yPlusX.One()
	dst.yMinusX.One()
	dst.xy2d.Zero()
	for j := range row {
		c := subtle.ConstantTimeByteEq(abs, uint8(j+1))
		dst.yPlusX.Select(&row[j].yPlusX, &dst.yPlusX, c)
		dst.yMinusX.Select(&row[j].yMinusX, &dst.yMinusX, c)
		dst.xy2d.Select(&row[j].xy2d, &dst.xy2d, c)
	}
	// −(x, y) = (−x, y): y+x and y−x trade places and x·y changes sign.
	var neg field.Element
	dst.yPlusX.Swap(&dst.yMinusX, int(sign))
	neg.Negate(&dst.xy2d)
	dst.xy2d.Select(&neg, &dst.xy2d, int(sign))
}

// encodeAll writes the encoding of each point of ps (X:Y:Z) into dst, with
// one field inversion for all of them; zs and scratch hold len(ps) elements.
func encodeAll(dst [][32]byte, ps []extended, zs, scratch []field.Element) {
	for i := range ps {
		zs[i].Set(&ps[i].Z)
	}
	invertAll(zs, scratch)
	for i := range ps {
		encodeAffine(&dst[i], &ps[i], &zs[i])
	}
}

// encodeAffine writes the encoding of p given 1/Z: y, with x's sign in the top bit.
func encodeAffine(dst *[32]byte, p *extended, zInv *field.Element) {
	var x, y field.Element
	x.Multiply(&p.X, zInv)
	y.Multiply(&p.Y, zInv)
	copy(dst[:], y.Bytes())
	dst[31] |= byte(x.IsNegative() << 7)
}
