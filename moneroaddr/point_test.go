package moneroaddr

import (
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"filippo.io/edwards25519"
)

// validPointReference is the math/big decoder that validPoint replaced,
// kept as an independent statement of Monero's rules: y < p, (y² - 1) /
// (d·y² + 1) a square (tested with the Jacobi symbol rather than by taking
// the root), and no sign bit on x = 0.
func validPointReference(key [32]byte) bool {
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

// pointVectors returns keys on every edge the two decoders could disagree
// on: small y and y near p (including the 19 non-canonical values p..2^255-1
// and the non-canonical encodings of the identity and of y = 0), both sign
// bits of each, the 8-torsion points, multiples of the base point and their
// negations, fixture keys, and the given number of random keys.
func pointVectors(t testing.TB, random int) [][32]byte {
	var keys [][32]byte
	addY := func(y *big.Int) {
		keys = append(keys, leKey(y, false), leKey(y, true))
	}
	pow255 := new(big.Int).Lsh(big.NewInt(1), 255)
	for i := range int64(64) {
		addY(big.NewInt(i))                                                // 0 .. 63
		addY(new(big.Int).Sub(fieldP, big.NewInt(i+1)))                    // p-64 .. p-1
		addY(new(big.Int).Sub(pow255, big.NewInt(i%19+1)))                 // p .. 2^255-1
		addY(new(big.Int).Rsh(pow255, uint(i)))                            // powers of two
		addY(new(big.Int).Sub(new(big.Int).Rsh(fieldP, 1), big.NewInt(i))) // around (p-1)/2
	}
	// Multiples of the base point, their negations and the 8-torsion
	// subgroup (found as [L]P for random points P, L the prime order).
	b := edwards25519.NewGeneratorPoint()
	q := edwards25519.NewIdentityPoint()
	for range 64 {
		q.Add(q, b)
		keys = append(keys, [32]byte(q.Bytes()), [32]byte(new(edwards25519.Point).Negate(q).Bytes()))
	}
	// L = 2^252 + 27742317777372353535851937790883648493, the prime order
	// of the base point.
	l := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 252), mustBig(t, "27742317777372353535851937790883648493"))
	rng := rand.New(rand.NewPCG(3, 4))
	torsion := map[[32]byte]bool{}
	for len(torsion) < 8 {
		var r [32]byte
		for i := range r {
			r[i] = byte(rng.Uint32())
		}
		p, err := new(edwards25519.Point).SetBytes(r[:])
		if err != nil {
			continue
		}
		// [L]P = [L](sG + T) = [L]T, and L is odd, so this lands on the
		// torsion component, which for random P spans all 8 points.
		acc := edwards25519.NewIdentityPoint()
		for i := l.BitLen() - 1; i >= 0; i-- {
			acc.Add(acc, acc)
			if l.Bit(i) == 1 {
				acc.Add(acc, p)
			}
		}
		if ord8 := new(edwards25519.Point).MultByCofactor(acc); ord8.Equal(edwards25519.NewIdentityPoint()) != 1 {
			t.Fatalf("[L]P = %x is not of order dividing 8", acc.Bytes())
		}
		torsion[[32]byte(acc.Bytes())] = true
	}
	for k := range torsion {
		keys = append(keys, k)
		// The same points with the sign bit flipped (x = 0 for two of them).
		k[31] ^= 0x80
		keys = append(keys, k)
	}
	for _, f := range fixtures {
		a, err := Parse(f.addr)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, a.PublicSpendKey, a.PublicViewKey)
	}
	for range random {
		var r [32]byte
		for i := range r {
			r[i] = byte(rng.Uint32())
		}
		keys = append(keys, r)
	}
	return keys
}

func mustBig(t testing.TB, s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad number %q", s)
	}
	return n
}

func TestValidPointMatchesReference(t *testing.T) {
	keys := pointVectors(t, 4096)
	var accepted, rejected int
	for _, k := range keys {
		want := validPointReference(k)
		if got := validPoint(k); got != want {
			t.Errorf("validPoint(%x) = %v, reference says %v", k, got, want)
		}
		if want {
			accepted++
		} else {
			rejected++
		}
	}
	// Both verdicts must be well represented, or the comparison says little.
	if accepted < 1000 || rejected < 1000 {
		t.Fatalf("%d accepted, %d rejected of %d vectors", accepted, rejected, len(keys))
	}
}

// TestEdwards25519IsLax pins down why validPoint compares the re-encoding:
// the library on its own accepts exactly the non-canonical encodings Monero
// refuses. If a new version of it stops doing so, the check is merely
// redundant, and this test says so.
func TestEdwards25519IsLax(t *testing.T) {
	for name, k := range map[string][32]byte{
		"y=p+1 (identity, non-canonical)": leKey(new(big.Int).Add(fieldP, bigOne), false),
		"y=p (y=0, non-canonical)":        leKey(fieldP, false),
		"y=1 negative (x=0)":              leKey(bigOne, true),
	} {
		if _, err := new(edwards25519.Point).SetBytes(k[:]); err != nil {
			t.Errorf("%s: edwards25519 now rejects it (%v); validPoint's re-encoding check is redundant", name, err)
		}
		if validPoint(k) || validPointReference(k) {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzValidPoint compares validPoint with the reference on arbitrary keys.
func FuzzValidPoint(f *testing.F) {
	for _, k := range pointVectors(f, 0) {
		f.Add(k[:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var k [32]byte
		copy(k[:], b)
		if got, want := validPoint(k), validPointReference(k); got != want {
			t.Fatalf("validPoint(%x) = %v, reference says %v", k, got, want)
		}
	})
}
