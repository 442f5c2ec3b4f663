package scan

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"filippo.io/edwards25519"
	"github.com/stretchr/testify/require"
)

// testWallet is a receiver whose secret keys the test knows.
type testWallet struct {
	key Key
	a   *edwards25519.Scalar // private view key
	A   *edwards25519.Point  // public view key
	B   *edwards25519.Point  // public spend key
}

// randScalar returns a uniformly random scalar.
func randScalar() *edwards25519.Scalar {
	var b [64]byte
	_, _ = rand.Read(b[:])
	s, err := edwards25519.NewScalar().SetUniformBytes(b[:])
	if err != nil {
		panic(err)
	}
	return s
}

// newTestWallet makes a wallet with random keys.
func newTestWallet(id string) *testWallet {
	w := &testWallet{a: randScalar()}
	w.A = new(edwards25519.Point).ScalarBaseMult(w.a)
	w.B = new(edwards25519.Point).ScalarBaseMult(randScalar())
	w.key.ID = id
	copy(w.key.View[:], w.a.Bytes())
	copy(w.key.Spend[:], w.B.Bytes())
	return w
}

// newTestSubaddress makes a receiver registered as a subaddress: the
// scanner's formulas are the same, it only derives additional keys for it.
func newTestSubaddress(id string) *testWallet {
	w := newTestWallet(id)
	w.key.Subaddress = true
	return w
}

// keysOf lists the wallets' registration keys.
func keysOf(ws ...*testWallet) []Key {
	keys := make([]Key, len(ws))
	for i, w := range ws {
		keys[i] = w.key
	}
	return keys
}

// synthOut is one output of a synthetic transaction.
type synthOut struct {
	to       *testWallet // nil: an output to nobody we know
	amount   uint64
	r        *edwards25519.Scalar // the output's own secret (an additional key); nil: the tx key
	untagged bool                 // old output format, without a view tag
	// derivation, if set, replaces 8·(r·A): for outputs built against the
	// identity derivation wallet2 falls back to.
	derivation *[32]byte
}

// senderDerivation is what the sender computes: 8·(r·A), from the other side
// of the Diffie-Hellman than the scanner, so the test checks both agree.
func senderDerivation(r *edwards25519.Scalar, A *edwards25519.Point) [32]byte {
	p := new(edwards25519.Point).ScalarMult(r, A)
	p.MultByCofactor(p)
	var d [32]byte
	copy(d[:], p.Bytes())
	return d
}

// randBytes32 returns 32 random bytes.
func randBytes32() [32]byte {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return b
}

// randPoint returns the encoding of a random point.
func randPoint() [32]byte {
	var b [32]byte
	copy(b[:], new(edwards25519.Point).ScalarBaseMult(randScalar()).Bytes())
	return b
}

// synthTx builds a transaction the way wallet2 builds one: tx key R = r·G in
// the extra; per output P = Hs·G + B, the view tag, the ECDH amount and the
// commitment. An output with its own r adds additional keys for all outputs.
func synthTx(hash string, r *edwards25519.Scalar, rctType uint8, outs ...synthOut) *Tx {
	h := newHasher()
	tx := &Tx{Hash: hash, Version: 2, RCTType: rctType, Outputs: make([]Output, len(outs))}
	var R [32]byte
	copy(R[:], new(edwards25519.Point).ScalarBaseMult(r).Bytes())
	tx.Extra.PubKeys = [][32]byte{R}
	for _, o := range outs {
		if o.r != nil {
			tx.Extra.AdditionalPubKeys = make([][32]byte, len(outs))
			break
		}
	}
	if rctType != RCTTypeNull {
		tx.ECDHAmounts = make([][8]byte, len(outs))
		tx.Commitments = make([][32]byte, len(outs))
	}
	for i, o := range outs {
		ri := r
		if tx.Extra.AdditionalPubKeys != nil {
			if o.r != nil {
				ri = o.r
				copy(tx.Extra.AdditionalPubKeys[i][:], new(edwards25519.Point).ScalarBaseMult(ri).Bytes())
			} else {
				tx.Extra.AdditionalPubKeys[i] = randPoint()
			}
		}
		out := &tx.Outputs[i]
		out.HasViewTag = !o.untagged
		if rctType == RCTTypeNull {
			out.Amount = o.amount
		}
		if o.to == nil {
			out.Key = randPoint()
			if out.HasViewTag {
				out.ViewTag = byte(i * 37)
			}
			if rctType != RCTTypeNull {
				rb := randBytes32()
				copy(tx.ECDHAmounts[i][:], rb[:])
				tx.Commitments[i] = randPoint()
			}
			continue
		}
		var d [32]byte
		if o.derivation != nil {
			d = *o.derivation
		} else {
			d = senderDerivation(ri, o.to.A)
		}
		var idx [maxVarintLen]byte
		n := putVarint(idx[:], uint64(i))
		if out.HasViewTag {
			out.ViewTag = h.viewTag(&d, idx[:n])
		}
		hs := new(edwards25519.Scalar)
		h.derivationScalar(hs, &d, idx[:n])
		p := new(edwards25519.Point).ScalarBaseMult(hs)
		p.Add(p, o.to.B)
		copy(out.Key[:], p.Bytes())
		if rctType == RCTTypeNull {
			continue
		}
		// Encoding is decoding: XOR with the same pad.
		var plain [8]byte
		binary.LittleEndian.PutUint64(plain[:], o.amount)
		enc, mask := h.decodeAmount(hs, &plain)
		binary.LittleEndian.PutUint64(tx.ECDHAmounts[i][:], enc)
		var ab [32]byte
		binary.LittleEndian.PutUint64(ab[:], o.amount)
		as, _ := new(edwards25519.Scalar).SetCanonicalBytes(ab[:])
		c := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(as, pointH, mask)
		copy(tx.Commitments[i][:], c.Bytes())
	}
	return tx
}

// extraBytes serialises an Extra the way wallet2 writes one.
func extraBytes(e Extra) []byte {
	var b []byte
	for _, k := range e.PubKeys {
		b = append(b, tagPubKey)
		b = append(b, k[:]...)
	}
	if e.AdditionalPubKeys != nil {
		b = append(b, tagAdditionalKeys)
		b = binary.AppendUvarint(b, uint64(len(e.AdditionalPubKeys)))
		for _, k := range e.AdditionalPubKeys {
			b = append(b, k[:]...)
		}
	}
	return b
}

// txJSONOf renders tx as monerod's decode_as_json does, with extra as given.
func txJSONOf(t testing.TB, tx *Tx, extra []byte) []byte {
	t.Helper()
	type obj = map[string]any
	vout := make([]obj, len(tx.Outputs))
	for i, o := range tx.Outputs {
		key := hex.EncodeToString(o.Key[:])
		target := obj{"key": key}
		if o.HasViewTag {
			target = obj{"tagged_key": obj{"key": key, "view_tag": fmt.Sprintf("%02x", o.ViewTag)}}
		}
		vout[i] = obj{"amount": o.Amount, "target": target}
	}
	ex := make([]int, len(extra))
	for i, c := range extra {
		ex[i] = int(c)
	}
	vin := []obj{{"key": obj{"amount": 0, "key_offsets": []int{1, 2}, "k_image": hex.EncodeToString(make([]byte, 32))}}}
	if tx.Coinbase {
		vin = []obj{{"gen": obj{"height": 7}}}
	}
	rct := obj{"type": tx.RCTType}
	if compactECDH(tx.RCTType) {
		ecdh := make([]obj, len(tx.ECDHAmounts))
		outPk := make([]string, len(tx.Commitments))
		for i := range ecdh {
			ecdh[i] = obj{"amount": hex.EncodeToString(tx.ECDHAmounts[i][:])}
			outPk[i] = hex.EncodeToString(tx.Commitments[i][:])
		}
		rct["txnFee"], rct["ecdhInfo"], rct["outPk"] = 30000, ecdh, outPk
	}
	b, err := json.Marshal(obj{
		"version": tx.Version, "unlock_time": tx.UnlockTime, "vin": vin, "vout": vout,
		"extra": ex, "rct_signatures": rct,
	})
	require.NoError(t, err)
	return b
}
