package scan

import (
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"io"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/sha3"
)

// The formulas below follow Monero's src/crypto/crypto.cpp and
// src/ringct/rctOps.cpp (v0.18):
//
//	D          = 8·(a·R)                          generate_key_derivation
//	Hs_i       = keccak(D || varint(i)) mod l     derivation_to_scalar
//	view tag   = keccak("view_tag" || D || varint(i))[0]
//	P_i        = Hs_i·G + B                       derive_public_key
//	amount     = ecdh.amount[0:8] XOR keccak("amount" || Hs_i)[0:8]
//	mask       = keccak("commitment_mask" || Hs_i) mod l
//	C_i        = mask·G + amount·H                must equal outPk[i]
//
// Keccak is the original Keccak-256 (Monero's cn_fast_hash), not FIPS SHA3.

// hBytes is Monero's second generator H (rct::H in src/ringct/rctTypes.h),
// the base of the amount in a Pedersen commitment.
var hBytes = [32]byte{
	0x8b, 0x65, 0x59, 0x70, 0x15, 0x37, 0x99, 0xaf, 0x2a, 0xea, 0xdc, 0x9f, 0xf1, 0xad, 0xd0, 0xea,
	0x6c, 0x72, 0x51, 0xd5, 0x41, 0x54, 0xcf, 0xa9, 0x2c, 0x17, 0x3a, 0x0d, 0xd3, 0x9c, 0x1f, 0x94,
}

// pointH is hBytes decoded once; a constant of the protocol, so a failure is a
// build defect, caught by the first test that loads the package.
var pointH = func() *edwards25519.Point {
	p, ok := decodePoint(&hBytes)
	if !ok {
		panic("scan: Monero's generator H does not decode")
	}
	return p
}()

// identityBytes is the encoding of the neutral element. wallet2 uses it as the
// derivation when a transaction public key does not decode (it logs and goes
// on), so an output built against that derivation still counts for the
// wallet; the scanner does the same to report what the wallet will report.
var identityBytes = [32]byte{1}

// Domain separators Monero prepends before hashing.
const (
	saltViewTag    = "view_tag"
	saltAmount     = "amount"
	saltCommitMask = "commitment_mask"
)

// maxVarintLen is the longest varint of a uint64.
const maxVarintLen = binary.MaxVarintLen64

// decodePoint decodes a compressed point the way Monero's
// ge_frombytes_vartime does: edwards25519 also accepts a non-canonical y and a
// sign bit on x = 0, which Monero refuses, so the encoding must round-trip
// (see moneroaddr/point.go for the full argument).
func decodePoint(b *[32]byte) (*edwards25519.Point, bool) {
	p, err := new(edwards25519.Point).SetBytes(b[:])
	if err != nil {
		return nil, false
	}
	var enc [32]byte
	if subtle.ConstantTimeCompare(encodePoint(&enc, p), b[:]) != 1 {
		return nil, false
	}
	return p, true
}

// encodePoint writes p's canonical encoding into dst without allocating.
func encodePoint(dst *[32]byte, p *edwards25519.Point) []byte {
	// Bytes returns a slice of a stack array when inlined; copying keeps the
	// caller's buffer the only storage.
	copy(dst[:], p.Bytes())
	return dst[:]
}

// putVarint writes Monero's varint (LEB128, as tools::write_varint) of v.
func putVarint(dst []byte, v uint64) int {
	return binary.PutUvarint(dst, v)
}

// hasher is a reusable Keccak-256 state with scratch space, one per goroutine:
// the hot loop hashes twice per output and must not allocate.
type hasher struct {
	h   hash.Hash
	r   io.Reader // the same state; Read squeezes without Sum's copy
	buf [len(saltCommitMask) + 32 + maxVarintLen]byte
	// out receives every digest: a local array passed to an interface
	// method would escape to the heap on each call.
	out [32]byte
}

// newHasher returns a fresh legacy Keccak-256 hasher.
func newHasher() *hasher {
	h := sha3.NewLegacyKeccak256()
	return &hasher{h: h, r: h.(io.Reader)}
}

// sum hashes data into k.out and returns it.
func (k *hasher) sum(data []byte) *[32]byte {
	k.h.Reset()
	k.h.Write(data)
	// The legacy Keccak state implements io.Reader and never fails.
	_, _ = k.r.Read(k.out[:])
	return &k.out
}

// viewTag returns keccak("view_tag" || D || varint(i))[0].
func (k *hasher) viewTag(d *[32]byte, idx []byte) byte {
	n := copy(k.buf[:], saltViewTag)
	n += copy(k.buf[n:], d[:])
	n += copy(k.buf[n:], idx)
	return k.sum(k.buf[:n])[0]
}

// derivationScalar returns Hs = keccak(D || varint(i)) mod l.
func (k *hasher) derivationScalar(s *edwards25519.Scalar, d *[32]byte, idx []byte) {
	n := copy(k.buf[:], d[:])
	n += copy(k.buf[n:], idx)
	k.hashToScalar(s, k.buf[:n])
}

// hashToScalar is Monero's hash_to_scalar: keccak, then sc_reduce32.
func (k *hasher) hashToScalar(s *edwards25519.Scalar, data []byte) {
	var wide [64]byte
	copy(wide[:32], k.sum(data)[:])
	// A 64-byte little-endian input with the top half zero reduces the
	// 256-bit hash mod l, which is exactly sc_reduce32.
	if _, err := s.SetUniformBytes(wide[:]); err != nil {
		panic("scan: SetUniformBytes rejected 64 bytes") // unreachable: the length is fixed
	}
}

// decodeAmount undoes the compact (v2) ECDH encoding of RingCT types 4–6 and
// returns the amount and the commitment mask derived from Hs.
func (k *hasher) decodeAmount(hs *edwards25519.Scalar, enc *[8]byte) (uint64, *edwards25519.Scalar) {
	hsb := hs.Bytes()
	n := copy(k.buf[:], saltAmount)
	n += copy(k.buf[n:], hsb)
	pad := k.sum(k.buf[:n])
	var plain [8]byte
	for i := range plain {
		plain[i] = enc[i] ^ pad[i]
	}
	n = copy(k.buf[:], saltCommitMask)
	n += copy(k.buf[n:], hsb)
	mask := new(edwards25519.Scalar)
	k.hashToScalar(mask, k.buf[:n])
	return binary.LittleEndian.Uint64(plain[:]), mask
}

// commitmentMatches reports whether mask·G + amount·H encodes to want.
// Variable time is fine: it runs only on an output already recognised as
// ours, and Monero's addKeys2 is variable-time too.
func commitmentMatches(mask *edwards25519.Scalar, amount uint64, want *[32]byte) bool {
	var ab [32]byte
	binary.LittleEndian.PutUint64(ab[:8], amount)
	a, err := new(edwards25519.Scalar).SetCanonicalBytes(ab[:])
	if err != nil {
		return false // unreachable: 2^64 < l
	}
	c := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(a, pointH, mask)
	var got [32]byte
	return subtle.ConstantTimeCompare(encodePoint(&got, c), want[:]) == 1
}

// hexKey is a 32-byte key written as 64 hex digits in monerod's JSON.
type hexKey [32]byte

// UnmarshalJSON decodes exactly 64 hex digits.
func (k *hexKey) UnmarshalJSON(b []byte) error {
	return unmarshalHex(k[:], b)
}

// hex1 is a one-byte view tag, written as two hex digits.
type hex1 [1]byte

// UnmarshalJSON decodes exactly 2 hex digits.
func (k *hex1) UnmarshalJSON(b []byte) error {
	return unmarshalHex(k[:], b)
}

// unmarshalHex decodes a JSON string of exactly 2·len(dst) hex digits.
// monerod writes plain hex; a string with escapes is refused like any other
// that is not plain hex.
func unmarshalHex(dst []byte, b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return errHexLength
	}
	return decodeHex(dst, b[1:len(b)-1])
}

// decodeHex decodes exactly 2·len(dst) hex digits.
func decodeHex(dst, digits []byte) error {
	if len(digits) != 2*len(dst) {
		return errHexLength
	}
	if _, err := hex.Decode(dst, digits); err != nil {
		return errHexDigit
	}
	return nil
}
