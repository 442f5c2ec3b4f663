package scan

import (
	"slices"

	"filippo.io/edwards25519"
)

// Which tx public keys cost a derivation. A transaction's extra is the
// sender's to fill, so the scanner derives only for keys that can pay a
// registered key, once per distinct point, whatever the extra repeats.
//
// wallet2 (src/wallet/wallet2.cpp, v0.18: cache_tx_data, then
// process_new_transaction) tries every tx public key (tag 0x01) in turn, and
// the additional keys (tag 0x04) alongside the first one, key i for output i
// only (is_out_to_acc_precomp in src/cryptonote_basic/cryptonote_format_utils.cpp,
// which refuses an output index past the additional keys). Here:
//
//   - Identical keys give identical derivations, and so do keys that differ by
//     a torsion component (the derivation is a·(8·R)): one derivation serves
//     them all.
//   - A key that does not decode, or whose 8·R is the identity, gives the
//     identity derivation (wallet2's fallback), the same for every registered
//     key: its view tags and output keys are checked once per transaction.
//   - Of the tx public keys, the first pubKeysRead distinct encodings are
//     read, and of those the first MaxPubKeys distinct points are derived.
//   - Additional keys are derived only for keys registered as subaddresses.
//     is_out_to_acc_precomp compares the spend key recovered through
//     additional key i with every key of m_subaddresses, where the main
//     address is index (0, 0), so wallet2 would find an output paid to a main
//     address through an additional key. No wallet builds one:
//     generate_output_ephemeral_keys (src/cryptonote_core/cryptonote_tx_utils.cpp)
//     derives with the additional key only for a subaddress destination
//     ("dst_entr.is_subaddress && need_additional_txkeys"), and monero-serai's
//     SignableTransaction::ecdhs does the same. monero-lws derives them only
//     when the server has subaddresses enabled. An escrow's address is a main
//     address (a multisig wallet's primary address; a subaddress fails
//     moneroaddr.MatchesViewKey at registration), so a payment crafted that
//     way is left to the escrow's safety-net poll, like one behind a key past
//     MaxPubKeys.
//   - Additional keys past the output count match nothing, and one equal to a
//     derived tx public key repeats a derivation already tried on its output.
//
// So per registered main address a transaction costs at most MaxPubKeys
// derivations and MaxPubKeys view tags per output; a subaddress adds at most
// one derivation and one view tag per output.

// MaxPubKeys is how many distinct tx public keys (extra tag 0x01) of one
// transaction are derived; wallets write one, and two leave room for a stray
// key before the real one, which is why wallet2 tries them all.
const MaxPubKeys = 2

// pubKeysRead is how many distinct tx public key encodings are decoded, so
// that garbage keys cost a bounded amount of key-independent work too.
const pubKeysRead = 2 * MaxPubKeys

// preparedTx is a transaction with everything that does not depend on the
// registered key computed once.
type preparedTx struct {
	tx *Tx
	// skip: the extra has no tx public key, and wallet2 skips the transaction.
	skip    bool
	primary []txKey // distinct tx public keys to derive, at most MaxPubKeys
	// additional are the distinct additional keys to derive for subaddress
	// keys; addOf[i] indexes output i's in additional, or is -1.
	additional []txKey
	addOf      []int
	// identity lists the outputs that can be anyone's under the identity
	// derivation, with the spend key each would have to be.
	identity []identityOut
	outs     []preparedOut
}

// txKey is one tx public key R, ready for multiplication by view keys.
type txKey struct {
	r8    edwards25519.Point // 8·R
	enc   [32]byte           // 8·R encoded, to recognise repeats
	table *pointTable        // multiples of 8·R; nil with few keys
}

// preparedOut is one output's key-independent data. The output key is not
// decoded: a candidate Hs·G + B is encoded and compared with it, which costs
// an inversion only for the 1 in 256 outputs whose view tag passes, where
// decoding would cost a square root for every output of every transaction.
type preparedOut struct {
	idx    [maxVarintLen]byte // varint(output index), hashed with D
	idxLen int
}

// identityOut is an output whose view tag passes under the identity
// derivation: it pays the registered key whose spend key is spend = P − Hs·G.
type identityOut struct {
	out   int
	hs    edwards25519.Scalar
	spend [32]byte
	// main: reached through a tx public key, so for every registered key;
	// otherwise through output out's additional key, for subaddress keys only.
	main bool
}

// prepare decodes the public keys and output keys of tx and, for many keys,
// builds the multiplication tables.
func (s *Scanner) prepare(tx *Tx) *preparedTx {
	pt := &preparedTx{tx: tx, outs: make([]preparedOut, len(tx.Outputs)), skip: len(tx.Extra.PubKeys) == 0}
	for i := range tx.Outputs {
		o := &pt.outs[i]
		o.idxLen = putVarint(o.idx[:], uint64(i))
	}
	if pt.skip {
		return pt
	}
	useTable := len(s.keys) >= minTableKeys
	var mainIdentity bool
	pubs := tx.Extra.PubKeys
	for i, read := 0, 0; i < len(pubs) && read < pubKeysRead && len(pt.primary) < MaxPubKeys; i++ {
		if slices.Contains(pubs[:i], pubs[i]) {
			continue
		}
		read++
		k, ok := newTxKey(&pubs[i])
		switch {
		case !ok:
			mainIdentity = true
		case find(pt.primary, &k) < 0:
			pt.primary = append(pt.primary, k)
		}
	}
	addIdentity := make([]bool, len(tx.Outputs))
	if s.subaddresses > 0 {
		pt.prepareAdditional(addIdentity)
	}
	for i := range pt.primary {
		pt.primary[i].build(useTable)
	}
	for i := range pt.additional {
		pt.additional[i].build(useTable)
	}
	pt.prepareIdentity(mainIdentity, addIdentity)
	return pt
}

// prepareAdditional keeps the additional keys worth deriving (see above) and
// marks in addIdentity the outputs whose key gives the identity derivation.
func (pt *preparedTx) prepareAdditional(addIdentity []bool) {
	adds := pt.tx.Extra.AdditionalPubKeys
	pt.addOf = make([]int, len(pt.tx.Outputs))
	for i := range pt.addOf {
		pt.addOf[i] = -1
		if i >= len(adds) {
			continue
		}
		if j := slices.Index(adds[:i], adds[i]); j >= 0 {
			// The same bytes as output j's key: the same outcome, for free.
			pt.addOf[i] = pt.addOf[j]
			addIdentity[i] = addIdentity[j]
			continue
		}
		k, ok := newTxKey(&adds[i])
		switch {
		case !ok:
			addIdentity[i] = true
		case find(pt.primary, &k) >= 0:
		default:
			j := find(pt.additional, &k)
			if j < 0 {
				j = len(pt.additional)
				pt.additional = append(pt.additional, k)
			}
			pt.addOf[i] = j
		}
	}
}

// prepareIdentity checks, once for all keys, the outputs the identity
// derivation applies to.
func (pt *preparedTx) prepareIdentity(main bool, additional []bool) {
	var h *hasher
	var p edwards25519.Point
	for i := range pt.outs {
		if !main && !additional[i] {
			continue
		}
		if h == nil {
			h = newHasher()
		}
		o, out := &pt.outs[i], &pt.tx.Outputs[i]
		idx := o.idx[:o.idxLen]
		if out.HasViewTag && h.viewTag(&identityBytes, idx) != out.ViewTag {
			continue
		}
		P, ok := decodePoint(&out.Key)
		if !ok {
			continue // no derived key encodes to it
		}
		c := identityOut{out: i, main: main}
		h.derivationScalar(&c.hs, &identityBytes, idx)
		p.ScalarBaseMult(&c.hs)
		p.Subtract(P, &p)
		encodePoint(&c.spend, &p)
		pt.identity = append(pt.identity, c)
	}
}

// identity is the neutral element, to recognise a tx key of small order.
var identity = edwards25519.NewIdentityPoint()

// newTxKey decodes R and computes 8·R; ok is false when the derivation is
// the identity for every view key (R is no point, or of small order).
func newTxKey(r *[32]byte) (k txKey, ok bool) {
	p, ok := decodePoint(r)
	if !ok {
		return k, false
	}
	k.r8.MultByCofactor(p)
	if k.r8.Equal(identity) == 1 {
		return k, false
	}
	encodePoint(&k.enc, &k.r8)
	return k, true
}

// build precomputes the multiplication table if asked.
func (k *txKey) build(table bool) {
	if table {
		k.table = newPointTable(&k.r8)
	}
}

// find returns the index of the key in ks with the same 8·R as k, or -1.
func find(ks []txKey, k *txKey) int {
	for i := range ks {
		if ks[i].enc == k.enc {
			return i
		}
	}
	return -1
}
