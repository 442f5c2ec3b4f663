// Package scan recognises Monero outputs paid to registered addresses from
// each address's private view key and public spend key, the way light-wallet
// servers (monero-lws) do, without a wallet: one pass over a block's
// transactions serves every registered key.
//
// Transactions come from monerod's JSON (ParseTx, ParseMinerTx). For each
// transaction public key R and registered key (a, B) the scanner computes the
// derivation D = 8·(a·R), rules most outputs out by their one-byte view tag,
// compares the rest with Hs(D, i)·G + B, and decodes and verifies the amount
// of those that match. It follows wallet2 (src/wallet/wallet2.cpp, v0.18) so
// that it reports what the wallet itself will report; crypto.go lists the
// formulas.
//
// A Key is one address: a standard address's (view key, spend key), or a
// subaddress registered as its wallet's view key with the subaddress's own
// spend key and Subaddress set (the derivation then goes through the
// additional tx keys or a tx key built on that spend key, and the formulas
// are the same).
//
// Limits: amounts are decoded for coinbase and RingCT types 4–6, which is
// everything mined since 2019. Per registered key a transaction costs at
// most MaxPubKeys derivations, plus one per output for a key registered as a
// subaddress, whatever its extra holds; prepare.go says which tx keys are
// derived and where that differs from wallet2.
package scan

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// minTableKeys is the number of keys from which a per-R table pays for
// itself: building one costs about as much as two plain multiplications and
// saves two thirds of each.
const minTableKeys = 4

// Reasons an output to a registered key is not reported as a match.
var (
	// ErrCommitment: the decoded amount does not open the output's
	// commitment. The output is hostile or corrupt and wallet2 skips it too.
	ErrCommitment = errors.New("scan: amount does not match the output's commitment")
	// ErrUnsupportedRCT: the output is ours but its RingCT type (1–3, or one
	// newer than 6) encodes the amount in a way the scanner does not decode.
	ErrUnsupportedRCT = errors.New("scan: unsupported RingCT type")
	// ErrZeroAmount: the output is ours but worth 0; wallet2 skips those.
	ErrZeroAmount = errors.New("scan: zero amount")
)

// Match is an output paid to a registered key.
type Match struct {
	KeyID       string   // the registered key's ID
	TxHash      string   // Tx.Hash
	OutputIndex int      // index in the transaction's outputs
	OutputKey   [32]byte // the one-time output key, as wallet-rpc's "pubkey"
	Amount      uint64   // atomic units (piconero)
	UnlockTime  uint64   // the transaction's unlock_time (0: normal)
	Coinbase    bool     // paid by a miner transaction
}

// Rejection is an output addressed to a registered key that is not a Match:
// Err wraps ErrCommitment, ErrUnsupportedRCT or ErrZeroAmount.
type Rejection struct {
	KeyID       string
	TxHash      string
	OutputIndex int
	Err         error
}

// Result is what a scan found, in transaction order, then output order, then
// the order of the keys given to NewScanner.
type Result struct {
	Matches  []Match
	Rejected []Rejection
}

// Scanner recognises outputs to a fixed set of keys. It is safe for
// concurrent use; it holds the view keys, and prints none of them.
type Scanner struct {
	keys         []preparedKey
	subaddresses int // how many keys are subaddresses: none, no additional key is derived
}

// NewScanner decodes the keys once. Errors wrap ErrBadKey and name the key by
// index and ID only.
func NewScanner(keys []Key) (*Scanner, error) {
	pk, err := prepareKeys(keys)
	if err != nil {
		return nil, err
	}
	s := &Scanner{keys: pk}
	for i := range pk {
		if pk[i].subaddress {
			s.subaddresses++
		}
	}
	return s, nil
}

// Len is the number of registered keys.
func (s *Scanner) Len() int { return len(s.keys) }

// String describes the scanner without its keys.
func (s Scanner) String() string { return fmt.Sprintf("scan.Scanner{keys: %d}", len(s.keys)) }

// Format makes every fmt verb print String, so no verb can reach the keys;
// a value receiver, so that printing a dereferenced Scanner is covered too.
func (s Scanner) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// ScanTx scans one transaction for every key on the calling goroutine. The
// error (wrapping ErrMalformedTx) is for a Tx whose fields are inconsistent.
func (s *Scanner) ScanTx(tx *Tx) (Result, error) {
	if err := tx.validate(); err != nil {
		return Result{}, err
	}
	res, _, err := s.scanTxs([]*Tx{tx}, 1)
	return res, err
}

// txBatch is how many transactions are prepared at a time: tables take 40 KiB
// per public key, and batching bounds that memory whatever the block holds.
const txBatch = 16

// keyChunk is the fewest keys one work unit scans; smaller units only add
// scheduling overhead.
const keyChunk = 64

// ScanTxs scans txs for every key, spreading (transaction, key range) units
// over workers goroutines (at least 1). Invalid transactions are skipped and
// their errors joined; the others are scanned all the same.
func (s *Scanner) ScanTxs(txs []*Tx, workers int) (Result, error) {
	res, _, err := s.scanTxs(txs, workers)
	return res, err
}

// stats counts the work a scan did per registered key, for the tests and
// benchmarks that hold it to its bound.
type stats struct {
	derivations int // scalar multiplications a·(8·R)
	viewTags    int // view-tag hashes
}

// scanTxs is ScanTxs, counting the work.
func (s *Scanner) scanTxs(txs []*Tx, workers int) (Result, stats, error) {
	workers = max(workers, 1)
	var errs []error
	ws := make([]*worker, workers)
	for i := range ws {
		ws[i] = newWorker()
	}
	chunk := max(keyChunk, (len(s.keys)+4*workers-1)/(4*workers))
	for start := 0; start < len(txs); start += txBatch {
		batch := txs[start:min(start+txBatch, len(txs))]
		prepared := make([]*preparedTx, len(batch))
		parallel(workers, len(batch), func(_, i int) {
			if batch[i].validate() == nil {
				prepared[i] = s.prepare(batch[i])
			}
		})
		for i, pt := range prepared {
			if pt == nil {
				errs = append(errs, batch[i].validate())
			}
		}
		chunks := (len(s.keys) + chunk - 1) / chunk
		parallel(workers, len(batch)*chunks, func(wi, u int) {
			pt := prepared[u/chunks]
			if pt == nil {
				return
			}
			lo := (u % chunks) * chunk
			ws[wi].scan(pt, start+u/chunks, s.keys[lo:min(lo+chunk, len(s.keys))], lo)
		})
	}
	all := newWorker()
	for _, w := range ws {
		all.found = append(all.found, w.found...)
		all.rejected = append(all.rejected, w.rejected...)
		all.st.derivations += w.st.derivations
		all.st.viewTags += w.st.viewTags
	}
	all.sort()
	return all.res, all.st, errors.Join(errs...)
}

// worker holds one goroutine's scratch space and findings, so the hot loop
// neither allocates nor shares memory.
type worker struct {
	h  *hasher
	ms multScratch
	d  edwards25519.Point // a derivation by Point.ScalarMult (few keys)
	p  edwards25519.Point
	hs edwards25519.Scalar
	// dMain[ki·len(primary)+pi] is key ki's derivation with primary tx key
	// pi; a chunk's are computed together, so that one field inversion
	// encodes them all (proj, zs and inv are its scratch space).
	dMain    [][32]byte
	proj     []extended
	zs, inv  []field.Element
	enc      [32]byte   // a candidate output key, encoded
	dAdd     [][32]byte // one derivation per distinct additional key
	seen     []bool
	found    []sortedMatch
	rejected []sortedRejection
	res      Result
	st       stats
}

// sortedMatch and sortedRejection remember the positions that order results.
type (
	sortedMatch struct {
		tx, key int
		m       Match
	}
	sortedRejection struct {
		tx, key int
		r       Rejection
	}
)

// newWorker allocates a worker.
func newWorker() *worker { return &worker{h: newHasher()} }

// scan checks every output of pt against keys; txPos and keyBase position
// the findings for sorting.
func (w *worker) scan(pt *preparedTx, txPos int, keys []preparedKey, keyBase int) {
	if pt.skip {
		return
	}
	n := len(pt.outs)
	if cap(w.seen) < n {
		w.seen = make([]bool, n)
	}
	seen := w.seen[:n]
	w.deriveAll(pt, keys)
	np := len(pt.primary)
	for ki := range keys {
		k, keyPos := &keys[ki], keyBase+ki
		clear(seen)
		for pi := range np {
			d := &w.dMain[ki*np+pi]
			for i := range n {
				if !seen[i] {
					seen[i] = w.tryOutput(pt, i, d, k, txPos, keyPos)
				}
			}
		}
		if k.subaddress {
			w.scanAdditional(pt, seen, k, txPos, keyPos)
		}
		// The identity derivation is every key's, so prepare did its hashing
		// and arithmetic once; a key only compares its spend key.
		for ci := range pt.identity {
			c := &pt.identity[ci]
			if !seen[c.out] && (c.main || k.subaddress) && c.spend == k.spendEnc {
				seen[c.out] = true
				w.hs = c.hs
				w.record(pt.tx, c.out, k, txPos, keyPos)
			}
		}
	}
}

// scanAdditional tries each output not yet found under its additional key,
// deriving each distinct additional key once.
func (w *worker) scanAdditional(pt *preparedTx, seen []bool, k *preparedKey, txPos, keyPos int) {
	if cap(w.dAdd) < len(pt.additional) {
		w.dAdd = make([][32]byte, len(pt.additional))
	}
	dAdd := w.dAdd[:len(pt.additional)]
	for j := range pt.additional {
		w.derive(&dAdd[j], &pt.additional[j], k)
	}
	for i, j := range pt.addOf {
		if j >= 0 && !seen[i] {
			seen[i] = w.tryOutput(pt, i, &dAdd[j], k, txPos, keyPos)
		}
	}
}

// deriveAll fills w.dMain with the derivation of every key with every primary tx key.
func (w *worker) deriveAll(pt *preparedTx, keys []preparedKey) {
	np := len(pt.primary)
	m := len(keys) * np
	if cap(w.dMain) < m {
		w.dMain = make([][32]byte, m)
		w.proj = make([]extended, m)
		w.zs, w.inv = make([]field.Element, m), make([]field.Element, m)
	}
	for ki := range keys {
		for pi := range pt.primary {
			w.multiply(&w.proj[ki*np+pi], &pt.primary[pi], &keys[ki])
		}
	}
	encodeAll(w.dMain[:m], w.proj[:m], w.zs[:m], w.inv[:m])
}

// multiply sets v to a·(8·R) for key k's view key a and tx key r.
func (w *worker) multiply(v *extended, r *txKey, k *preparedKey) {
	w.st.derivations++
	if r.table != nil {
		r.table.mult(v, &k.digits, &w.ms)
		return
	}
	w.d.ScalarMult(&k.view, &r.r8)
	x, y, z, _ := w.d.ExtendedCoordinates()
	v.X, v.Y, v.Z = *x, *y, *z
}

// derive writes the derivation 8·(a·R) for key k and tx key r into dst.
func (w *worker) derive(dst *[32]byte, r *txKey, k *preparedKey) {
	w.multiply(&w.ms.acc, r, k)
	var zInv field.Element
	zInv.Invert(&w.ms.acc.Z)
	encodeAffine(dst, &w.ms.acc, &zInv)
}

// tryOutput reports whether output i is addressed to k under derivation d
// and, if it is, records it as a match or a rejection.
func (w *worker) tryOutput(pt *preparedTx, i int, d *[32]byte, k *preparedKey, txPos, keyPos int) bool {
	out := &pt.tx.Outputs[i]
	o := &pt.outs[i]
	idx := o.idx[:o.idxLen]
	// The view tag rules out 255 of 256 foreign outputs for one hash.
	if out.HasViewTag {
		w.st.viewTags++
		if w.h.viewTag(d, idx) != out.ViewTag {
			return false
		}
	}
	w.h.derivationScalar(&w.hs, d, idx)
	w.p.ScalarBaseMult(&w.hs)
	w.p.Add(&w.p, &k.spend)
	// A non-canonical output key equals no encoding: it matches nothing.
	if encodePoint(&w.enc, &w.p); w.enc != out.Key {
		return false
	}
	w.record(pt.tx, i, k, txPos, keyPos)
	return true
}

// record decodes the amount of output i, now known to be k's, and files it.
func (w *worker) record(tx *Tx, i int, k *preparedKey, txPos, keyPos int) {
	var amount uint64
	var err error
	switch {
	case tx.Version == 1 || tx.RCTType == RCTTypeNull:
		// Coinbase amounts are in the clear and checked by consensus; there
		// is no commitment to open (wallet2 takes vout.amount too).
		amount = tx.Outputs[i].Amount
	case compactECDH(tx.RCTType):
		var mask *edwards25519.Scalar
		amount, mask = w.h.decodeAmount(&w.hs, &tx.ECDHAmounts[i])
		if !commitmentMatches(mask, amount, &tx.Commitments[i]) {
			err = ErrCommitment
		}
	default:
		err = fmt.Errorf("%w %d", ErrUnsupportedRCT, tx.RCTType)
	}
	if err == nil && amount == 0 {
		err = ErrZeroAmount
	}
	if err != nil {
		w.rejected = append(w.rejected, sortedRejection{tx: txPos, key: keyPos, r: Rejection{
			KeyID: k.id, TxHash: tx.Hash, OutputIndex: i, Err: err,
		}})
		return
	}
	w.found = append(w.found, sortedMatch{tx: txPos, key: keyPos, m: Match{
		KeyID: k.id, TxHash: tx.Hash, OutputIndex: i, OutputKey: tx.Outputs[i].Key,
		Amount: amount, UnlockTime: tx.UnlockTime, Coinbase: tx.Coinbase,
	}})
}

// sort orders the findings and fills res.
func (w *worker) sort() {
	slices.SortFunc(w.found, func(a, b sortedMatch) int {
		return cmp.Or(cmp.Compare(a.tx, b.tx), cmp.Compare(a.m.OutputIndex, b.m.OutputIndex), cmp.Compare(a.key, b.key))
	})
	slices.SortFunc(w.rejected, func(a, b sortedRejection) int {
		return cmp.Or(cmp.Compare(a.tx, b.tx), cmp.Compare(a.r.OutputIndex, b.r.OutputIndex), cmp.Compare(a.key, b.key))
	})
	w.res = Result{}
	for _, f := range w.found {
		w.res.Matches = append(w.res.Matches, f.m)
	}
	for _, r := range w.rejected {
		w.res.Rejected = append(w.res.Rejected, r.r)
	}
}
