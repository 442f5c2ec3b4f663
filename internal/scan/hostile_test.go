package scan

import (
	"encoding/hex"
	"fmt"
	"testing"

	"filippo.io/edwards25519"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// garbageKey is no point: y = p, which edwards25519 reads as y = 0 and Monero
// refuses, so wallet2 derives with the identity.
var garbageKey = func() [32]byte {
	b := [32]byte{0xed}
	for i := 1; i < 31; i++ {
		b[i] = 0xff
	}
	b[31] = 0x7f
	return b
}()

// torsionKey is a point of order 8: its 8·R, and so its derivation, is the
// identity for every view key.
var torsionKey = func() [32]byte {
	var b [32]byte
	if _, err := hex.Decode(b[:], []byte(torsion8)); err != nil {
		panic(err)
	}
	return b
}()

// hostileOutputs is the most outputs a RingCT transaction may have
// (BULLETPROOF_PLUS_MAX_OUTPUTS).
const hostileOutputs = 16

// hostileTx is a transaction of 16 outputs (outs, then outputs to nobody)
// whose extra is made to cost a scanner the most: its tx key repeated around
// garbage, a torsion point and other valid keys, and twice as many additional
// keys as outputs, all distinct.
func hostileTx(hash string, r *edwards25519.Scalar, outs ...synthOut) *Tx {
	for len(outs) < hostileOutputs {
		outs = append(outs, synthOut{})
	}
	tx := synthTx(hash, r, RCTTypeBulletproofPlus, outs...)
	R := tx.Extra.PubKeys[0]
	tx.Extra.PubKeys = [][32]byte{R, R, garbageKey, torsionKey, randPoint(), R, randPoint(), randPoint(), garbageKey}
	for len(tx.Extra.AdditionalPubKeys) < 2*hostileOutputs {
		tx.Extra.AdditionalPubKeys = append(tx.Extra.AdditionalPubKeys, randPoint())
	}
	return tx
}

// scanCounting scans txs for keys and returns what it found and the work it
// did, on two workers and with the per-R tables (keys are padded with decoys
// to minTableKeys, and the decoys' work is counted too).
func scanCounting(t *testing.T, keys []Key, txs ...*Tx) (Result, stats, int) {
	t.Helper()
	for i := len(keys); i < minTableKeys; i++ {
		keys = append(keys, newTestWallet(fmt.Sprintf("decoy-%d", i)).key)
	}
	s, err := NewScanner(keys)
	require.NoError(t, err)
	res, st, err := s.scanTxs(txs, 2)
	require.NoError(t, err)
	return res, st, len(keys)
}

func TestDuplicateTxKeysAreDerivedOnce(t *testing.T) {
	w := newTestWallet("w")
	tx := synthTx("dup", randScalar(), RCTTypeBulletproofPlus, synthOut{}, synthOut{to: w, amount: 4})
	R := tx.Extra.PubKeys[0]
	tx.Extra.PubKeys = [][32]byte{R, R, R, R, R, R, R, R}
	res, st, n := scanCounting(t, keysOf(w), tx)
	assert.Equal(t, []summary{{"w", "dup", 1, 4}}, summarise(res.Matches))
	assert.Equal(t, n, st.derivations, "one derivation per key, not one per copy")
	assert.Equal(t, 2*n, st.viewTags)
}

func TestAdditionalKeysPastTheOutputsAreNotDerived(t *testing.T) {
	w, sub := newTestWallet("w"), newTestSubaddress("sub")
	tx := synthTx("adds", randScalar(), RCTTypeBulletproofPlus,
		synthOut{to: w, amount: 5}, synthOut{to: sub, amount: 6, r: randScalar()})
	for len(tx.Extra.AdditionalPubKeys) < 16 {
		tx.Extra.AdditionalPubKeys = append(tx.Extra.AdditionalPubKeys, randPoint())
	}
	res, st, n := scanCounting(t, keysOf(w, sub), tx)
	assert.Equal(t, []summary{{"w", "adds", 0, 5}, {"sub", "adds", 1, 6}}, summarise(res.Matches))
	// One per key for the tx key, and the subaddress's two for its two outputs.
	assert.Equal(t, n+2, st.derivations)
}

func TestGarbageTxKeysCostNoDerivation(t *testing.T) {
	w, other, sub := newTestWallet("w"), newTestWallet("other"), newTestSubaddress("sub")
	tx := synthTx("garbage", randScalar(), RCTTypeBulletproofPlus,
		synthOut{to: w, amount: 7}, synthOut{to: other, amount: 8, derivation: &identityBytes},
		synthOut{to: sub, amount: 9, derivation: &identityBytes})
	R := tx.Extra.PubKeys[0]
	tx.Extra.PubKeys = [][32]byte{garbageKey, torsionKey, garbageKey, R, torsionKey}
	tx.Extra.AdditionalPubKeys = [][32]byte{garbageKey, torsionKey, garbageKey}
	res, st, n := scanCounting(t, keysOf(w, other, sub), tx)
	assert.Equal(t, []summary{{"w", "garbage", 0, 7}, {"other", "garbage", 1, 8}, {"sub", "garbage", 2, 9}},
		summarise(res.Matches), "what wallet2 finds through the identity derivation is still found")
	assert.Equal(t, n, st.derivations, "only R costs a derivation")
	assert.Equal(t, 3*n, st.viewTags, "the identity's view tags are checked once per tx, not per key")
}

func TestHostile16OutputTxStaysWithinBound(t *testing.T) {
	ws := make([]*testWallet, 8)
	for i := range ws {
		ws[i] = newTestWallet(fmt.Sprintf("w%d", i))
	}
	sub := newTestSubaddress("sub")
	tx := hostileTx("hostile", randScalar(), synthOut{}, synthOut{}, synthOut{}, synthOut{to: ws[3], amount: 10},
		synthOut{}, synthOut{}, synthOut{}, synthOut{}, synthOut{}, synthOut{to: sub, amount: 11, r: randScalar()})
	res, st, n := scanCounting(t, keysOf(append(ws, sub)...), tx)
	assert.Equal(t, []summary{{"w3", "hostile", 3, 10}, {"sub", "hostile", 9, 11}}, summarise(res.Matches))
	// Main addresses: MaxPubKeys derivations each; the subaddress one more
	// per output.
	assert.Equal(t, n*MaxPubKeys+hostileOutputs, st.derivations)
	assert.LessOrEqual(t, st.viewTags, (n*MaxPubKeys+1)*hostileOutputs)

	// A normal transaction costs one derivation per key: the bound is
	// MaxPubKeys times that for a main address, whatever the extra holds.
	normal := synthTx("normal", randScalar(), RCTTypeBulletproofPlus, synthOut{}, synthOut{})
	_, mainOnly, m := scanCounting(t, keysOf(ws...), normal)
	_, hostile, _ := scanCounting(t, keysOf(ws...), tx)
	assert.Equal(t, m, mainOnly.derivations)
	assert.Equal(t, MaxPubKeys*m, hostile.derivations)
}

// wallet2 would find an output paid to a main address through an additional
// key (prepare.go); no wallet builds one, and the scanner leaves it to the
// escrow's poll rather than derive every additional key for every escrow.
func TestMainAddressIsNotLookedForBehindAdditionalKeys(t *testing.T) {
	w := newTestWallet("w")
	tx := synthTx("main-via-additional", randScalar(), RCTTypeBulletproofPlus,
		synthOut{}, synthOut{to: w, amount: 12, r: randScalar()}, synthOut{})
	res, st, n := scanCounting(t, keysOf(w), tx)
	assert.Empty(t, res.Matches)
	assert.Equal(t, n, st.derivations)

	w.key.Subaddress = true
	res, _, _ = scanCounting(t, keysOf(w), tx)
	assert.Equal(t, []summary{{"w", "main-via-additional", 1, 12}}, summarise(res.Matches),
		"registered as a subaddress, the same key is found")
}

func TestAdditionalKeyEqualToTheTxKeyIsNotDerivedAgain(t *testing.T) {
	sub := newTestSubaddress("sub")
	r := randScalar()
	tx := synthTx("repeat", r, RCTTypeBulletproofPlus, synthOut{to: sub, amount: 13}, synthOut{}, synthOut{})
	R := tx.Extra.PubKeys[0]
	other := randPoint()
	tx.Extra.AdditionalPubKeys = [][32]byte{R, other, other}
	res, st, n := scanCounting(t, keysOf(sub), tx)
	assert.Equal(t, []summary{{"sub", "repeat", 0, 13}}, summarise(res.Matches))
	assert.Equal(t, n+1, st.derivations, "R once, the repeated additional key once, for the one subaddress")
}
