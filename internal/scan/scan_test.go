package scan

import (
	"encoding/hex"
	"fmt"
	"testing"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scanBoth scans txs with a scanner of keys plus enough decoys to use the
// per-R tables, and with one scanner per key (plain ScalarMult), checks both
// agree, and returns the first's result without the decoys.
func scanBoth(t *testing.T, keys []Key, txs ...*Tx) Result {
	t.Helper()
	all := append([]Key(nil), keys...)
	for i := len(all); i < minTableKeys+2; i++ {
		all = append(all, newTestWallet(fmt.Sprintf("decoy-%d", i)).key)
	}
	s, err := NewScanner(all)
	require.NoError(t, err)
	table, err := s.ScanTxs(txs, 2)
	require.NoError(t, err)

	var plain Result
	for _, k := range keys {
		s1, err := NewScanner([]Key{k})
		require.NoError(t, err)
		for _, tx := range txs {
			r, err := s1.ScanTx(tx)
			require.NoError(t, err)
			plain.Matches = append(plain.Matches, r.Matches...)
			plain.Rejected = append(plain.Rejected, r.Rejected...)
		}
	}
	assert.ElementsMatch(t, plain.Matches, table.Matches, "plain and table scans disagree")
	assert.ElementsMatch(t, plain.Rejected, table.Rejected, "plain and table scans disagree")
	return table
}

// summary is a match without the output key, for readable expectations.
type summary struct {
	Key    string
	Tx     string
	Index  int
	Amount uint64
}

// summarise drops the fields the expectations do not state.
func summarise(ms []Match) []summary {
	out := make([]summary, len(ms))
	for i, m := range ms {
		out[i] = summary{m.KeyID, m.TxHash, m.OutputIndex, m.Amount}
	}
	return out
}

func TestScanFindsPaymentsInEveryShape(t *testing.T) {
	w1, w2, w3 := newTestSubaddress("w1"), newTestWallet("w2"), newTestWallet("w3")
	several := synthTx("several", randScalar(), RCTTypeBulletproofPlus,
		synthOut{to: w1, amount: 5}, synthOut{}, synthOut{to: w2, amount: 7}, synthOut{to: w1, amount: 9})
	coinbase := synthTx("coinbase", randScalar(), RCTTypeNull, synthOut{to: w3, amount: 600_000_000_000})
	coinbase.Coinbase, coinbase.UnlockTime = true, 360
	untagged := synthTx("untagged", randScalar(), RCTTypeCLSAG, synthOut{}, synthOut{to: w2, amount: 3, untagged: true})
	additional := synthTx("additional", randScalar(), RCTTypeBulletproofPlus,
		synthOut{to: w3, amount: 11}, synthOut{to: w1, amount: 13, r: randScalar()}, synthOut{})
	locked := synthTx("locked", randScalar(), RCTTypeBulletproof2, synthOut{to: w2, amount: 17})
	locked.UnlockTime = 1234
	nobody := synthTx("nobody", randScalar(), RCTTypeBulletproofPlus, synthOut{}, synthOut{})

	res := scanBoth(t, keysOf(w1, w2, w3), several, coinbase, untagged, additional, locked, nobody)
	assert.Empty(t, res.Rejected)
	assert.Equal(t, []summary{
		{"w1", "several", 0, 5}, {"w2", "several", 2, 7}, {"w1", "several", 3, 9},
		{"w3", "coinbase", 0, 600_000_000_000},
		{"w2", "untagged", 1, 3},
		{"w3", "additional", 0, 11}, {"w1", "additional", 1, 13},
		{"w2", "locked", 0, 17},
	}, summarise(res.Matches))
	for _, m := range res.Matches {
		switch m.TxHash {
		case "coinbase":
			assert.True(t, m.Coinbase)
			assert.Equal(t, uint64(360), m.UnlockTime)
		case "locked":
			assert.Equal(t, uint64(1234), m.UnlockTime)
		default:
			assert.False(t, m.Coinbase)
			assert.Zero(t, m.UnlockTime)
		}
	}
}

func TestScanThroughJSON(t *testing.T) {
	w1, w2 := newTestWallet("w1"), newTestSubaddress("w2")
	tx := synthTx("a1", randScalar(), RCTTypeBulletproofPlus,
		synthOut{to: w1, amount: 5}, synthOut{to: w2, amount: 6, r: randScalar()}, synthOut{untagged: true})
	parsed, err := ParseTx(tx.Hash, txJSONOf(t, tx, extraBytes(tx.Extra)))
	require.NoError(t, err)
	assert.Equal(t, tx, parsed)
	res := scanBoth(t, keysOf(w1, w2), parsed)
	assert.Equal(t, []summary{{"w1", "a1", 0, 5}, {"w2", "a1", 1, 6}}, summarise(res.Matches))
}

// torsion8 is a point of order 8 (from the list of small-order points that
// ed25519 implementations reject).
const torsion8 = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"

// torsionPoint decodes torsion8 and checks its order.
func torsionPoint(t *testing.T) *edwards25519.Point {
	t.Helper()
	var b [32]byte
	decodeHex32(t, &b, torsion8)
	p, ok := decodePoint(&b)
	require.True(t, ok)
	four := new(edwards25519.Point).Double(p)
	four.Double(four)
	require.Zero(t, four.Equal(edwards25519.NewIdentityPoint()), "order > 4")
	require.Equal(t, 1, new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()), "order 8")
	return p
}

// A tx key with a torsion component: the sender's 8·(r·A) still equals the
// scanner's 8·(a·(R+T)), but only because the cofactor multiplies the point.
func TestTorsionTxKeyStillMatches(t *testing.T) {
	T := torsionPoint(t)
	w := newTestWallet("w")
	r := randScalar()
	tx := synthTx("torsion", r, RCTTypeBulletproofPlus, synthOut{to: w, amount: 42}, synthOut{})
	R := new(edwards25519.Point).ScalarBaseMult(r)
	R.Add(R, T)
	copy(tx.Extra.PubKeys[0][:], R.Bytes())

	res := scanBoth(t, keysOf(w), tx)
	assert.Equal(t, []summary{{"w", "torsion", 0, 42}}, summarise(res.Matches))

	// The shortcut the scanner must not take gives another derivation.
	eight := new(edwards25519.Scalar)
	var e [32]byte
	e[0] = 8
	_, _ = eight.SetCanonicalBytes(e[:])
	eightA := new(edwards25519.Scalar).Multiply(eight, w.a)
	folded := new(edwards25519.Point).ScalarMult(eightA, R)
	right := new(edwards25519.Point).ScalarMult(w.a, R)
	right.MultByCofactor(right)
	// (8a mod l)·T vanishes only when 8a mod l is a multiple of 8 (a < l/8).
	assert.Equal(t, eightA.Bytes()[0]%8 == 0, folded.Equal(right) == 1,
		"folding 8 into the scalar gives another derivation on a torsion point")
}

// offCurve returns an encoding that does not decode as a point.
func offCurve(t *testing.T) [32]byte {
	t.Helper()
	for i := range 256 {
		b := [32]byte{byte(i), 1, 2, 3}
		if _, err := new(edwards25519.Point).SetBytes(b[:]); err != nil {
			return b
		}
	}
	t.Fatal("no off-curve encoding found")
	return [32]byte{}
}

// A tx key that is no point: wallet2 derives with the identity instead, so
// an output built on that still counts; garbage around it never panics.
func TestInvalidTxKeyFallsBackToIdentityLikeWallet2(t *testing.T) {
	w := newTestWallet("w")
	nonCanonical := [32]byte{0xed} // y = p: edwards25519 takes it as y = 0, Monero refuses it
	for i := 1; i < 31; i++ {
		nonCanonical[i] = 0xff
	}
	nonCanonical[31] = 0x7f
	for name, bad := range map[string][32]byte{"off-curve": offCurve(t), "non-canonical": nonCanonical} {
		t.Run(name, func(t *testing.T) {
			_, ok := decodePoint(&bad)
			require.False(t, ok)
			tx := synthTx(name, randScalar(), RCTTypeBulletproofPlus,
				synthOut{to: w, amount: 8, derivation: &identityBytes}, synthOut{})
			tx.Extra.PubKeys[0] = bad
			res := scanBoth(t, keysOf(w), tx)
			assert.Equal(t, []summary{{"w", name, 0, 8}}, summarise(res.Matches))
		})
	}
}

func TestHostileOutputsAreRejectedNotMatched(t *testing.T) {
	w := newTestWallet("w")
	build := func(hash string, rct uint8, amount uint64) *Tx {
		return synthTx(hash, randScalar(), rct, synthOut{}, synthOut{to: w, amount: amount})
	}
	ecdh := build("ecdh", RCTTypeBulletproofPlus, 1000)
	ecdh.ECDHAmounts[1][0] ^= 1 // the amount decodes to 1001 or 999, the commitment says 1000
	commitment := build("commitment", RCTTypeCLSAG, 1000)
	commitment.Commitments[1] = randPoint()
	zero := build("zero", RCTTypeBulletproofPlus, 0)
	old := build("old", RCTTypeBulletproofPlus, 5)
	old.RCTType, old.ECDHAmounts, old.Commitments = 3, nil, nil
	badOutKey := build("bad-output-key", RCTTypeBulletproofPlus, 5)
	badOutKey.Outputs[0].Key = offCurve(t)

	res := scanBoth(t, keysOf(w), ecdh, commitment, zero, old, badOutKey)
	assert.Equal(t, []summary{{"w", "bad-output-key", 1, 5}}, summarise(res.Matches))
	require.Len(t, res.Rejected, 4)
	for i, want := range []struct {
		tx  string
		err error
	}{{"ecdh", ErrCommitment}, {"commitment", ErrCommitment}, {"zero", ErrZeroAmount}, {"old", ErrUnsupportedRCT}} {
		r := res.Rejected[i]
		assert.Equal(t, want.tx, r.TxHash)
		assert.Equal(t, "w", r.KeyID)
		assert.Equal(t, 1, r.OutputIndex)
		assert.ErrorIs(t, r.Err, want.err)
	}
}

func TestSeveralTxKeys(t *testing.T) {
	w := newTestWallet("w")
	tx := synthTx("second-key", randScalar(), RCTTypeBulletproofPlus, synthOut{to: w, amount: 3})
	tx.Extra.PubKeys = [][32]byte{randPoint(), tx.Extra.PubKeys[0]}
	res := scanBoth(t, keysOf(w), tx)
	assert.Equal(t, []summary{{"w", "second-key", 0, 3}}, summarise(res.Matches), "wallet2 tries every tx key")

	beyond := synthTx("beyond-cap", randScalar(), RCTTypeBulletproofPlus, synthOut{to: w, amount: 3})
	real := beyond.Extra.PubKeys[0]
	beyond.Extra.PubKeys = nil
	for range MaxPubKeys {
		beyond.Extra.PubKeys = append(beyond.Extra.PubKeys, randPoint())
	}
	beyond.Extra.PubKeys = append(beyond.Extra.PubKeys, real)
	assert.Empty(t, scanBoth(t, keysOf(w), beyond).Matches, "keys past MaxPubKeys are not tried")

	none := synthTx("no-key", randScalar(), RCTTypeBulletproofPlus, synthOut{to: w, amount: 3})
	none.Extra.PubKeys = nil
	assert.Empty(t, scanBoth(t, keysOf(w), none).Matches, "wallet2 skips a tx without a tx key")
}

func TestScanTxRejectsInconsistentTx(t *testing.T) {
	s, err := NewScanner(keysOf(newTestWallet("w")))
	require.NoError(t, err)
	_, err = s.ScanTx(nil)
	assert.ErrorIs(t, err, ErrMalformedTx)
	tx := synthTx("short", randScalar(), RCTTypeBulletproofPlus, synthOut{}, synthOut{})
	tx.ECDHAmounts = tx.ECDHAmounts[:1]
	_, err = s.ScanTx(tx)
	assert.ErrorIs(t, err, ErrMalformedTx)

	w := newTestWallet("w2")
	s, err = NewScanner(keysOf(w))
	require.NoError(t, err)
	good := synthTx("good", randScalar(), RCTTypeBulletproofPlus, synthOut{to: w, amount: 1})
	res, err := s.ScanTxs([]*Tx{tx, good, nil}, 2)
	assert.ErrorIs(t, err, ErrMalformedTx)
	assert.Equal(t, []summary{{"w2", "good", 0, 1}}, summarise(res.Matches), "the valid tx is scanned anyway")
}

func TestTableMatchesScalarMult(t *testing.T) {
	T := torsionPoint(t)
	points := []*edwards25519.Point{
		edwards25519.NewGeneratorPoint(), edwards25519.NewIdentityPoint(), T,
		new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(randScalar()), T),
	}
	for range 3 {
		points = append(points, new(edwards25519.Point).ScalarBaseMult(randScalar()))
	}
	var lMinus1 [32]byte
	decodeHex32(t, &lMinus1, "ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
	edges := [][32]byte{{}, {1}, {8}, {0x88, 0x88, 0x88}, lMinus1}
	for _, p := range points {
		table := newPointTable(p)
		scalars := []*edwards25519.Scalar{randScalar(), randScalar()}
		for _, e := range edges {
			s, err := new(edwards25519.Scalar).SetCanonicalBytes(e[:])
			require.NoError(t, err, hex.EncodeToString(e[:]))
			scalars = append(scalars, s)
		}
		for _, s := range scalars {
			var b [32]byte
			copy(b[:], s.Bytes())
			d := radix16(&b)
			var got extended
			table.mult(&got, &d, new(multScratch))
			want := new(edwards25519.Point).ScalarMult(s, p)
			var enc [32]byte
			var zInv field.Element
			encodeAffine(&enc, &got, zInv.Invert(&got.Z))
			assert.Equal(t, want.Bytes(), enc[:], "scalar %x", b)
		}
	}
}

func TestNewScannerChecksKeys(t *testing.T) {
	good := newTestWallet("good").key
	nonCanonical := good
	nonCanonical.ID = "view"
	nonCanonical.View[31] = 0xff
	badSpend := good
	badSpend.ID = "spend"
	badSpend.Spend = offCurve(t)
	for name, keys := range map[string][]Key{
		"view":      {good, nonCanonical},
		"spend":     {badSpend},
		"duplicate": {good, good},
	} {
		_, err := NewScanner(keys)
		require.ErrorIs(t, err, ErrBadKey, name)
		var ke *KeyError
		require.ErrorAs(t, err, &ke, name)
		assert.NotContains(t, err.Error(), hex.EncodeToString(good.View[:]), "the view key stays out of errors")
	}
	s, err := NewScanner(nil)
	require.NoError(t, err)
	res, err := s.ScanTxs([]*Tx{synthTx("x", randScalar(), RCTTypeBulletproofPlus, synthOut{})}, 4)
	require.NoError(t, err)
	assert.Empty(t, res.Matches)
}

// TestEncodeAllMatchesPointBytes holds the batched encoding (one inversion for many
// derivations) to edwards25519's own, point by point, for points with Z ≠ 1.
func TestEncodeAllMatchesPointBytes(t *testing.T) {
	var ps []extended
	var want [][]byte
	for i := range 70 {
		p := new(edwards25519.Point).ScalarBaseMult(randScalar())
		if i%7 == 0 {
			p.Add(p, p) // a sum, so Z is not 1
		}
		x, y, z, tt := p.ExtendedCoordinates()
		ps = append(ps, extended{X: *x, Y: *y, Z: *z, T: *tt})
		want = append(want, p.Bytes())
	}
	got := make([][32]byte, len(ps))
	encodeAll(got, ps, make([]field.Element, len(ps)), make([]field.Element, len(ps)))
	for i := range ps {
		assert.Equal(t, want[i], got[i][:], "point %d", i)
	}
}
