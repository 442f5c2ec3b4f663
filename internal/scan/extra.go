package scan

import (
	"errors"
	"fmt"
)

// Tags of tx extra fields (src/cryptonote_basic/tx_extra.h).
const (
	tagPadding        = 0x00
	tagPubKey         = 0x01
	tagNonce          = 0x02
	tagMergeMining    = 0x03
	tagAdditionalKeys = 0x04
	tagMinergate      = 0xde
)

// Limits Monero's parser enforces on single fields.
const (
	maxPaddingBytes = 254 // zeros after the tag (TX_EXTRA_PADDING_MAX_COUNT counts the tag)
	maxNonceBytes   = 255 // TX_EXTRA_NONCE_MAX_COUNT
)

// ErrExtra is wrapped by every ExtraError.
var ErrExtra = errors.New("scan: tx extra not fully parsed")

// ExtraError says where and why parsing a tx extra stopped. The extra is
// attacker-controlled, so the error names an offset and a tag, never the bytes.
type ExtraError struct {
	Offset int    // offset of the field that failed
	Tag    byte   // its tag
	Reason string // what was wrong with it
}

// Error describes the stop without quoting the extra.
func (e *ExtraError) Error() string {
	return fmt.Sprintf("%v: field tag 0x%02x at offset %d: %s", ErrExtra, e.Tag, e.Offset, e.Reason)
}

// Unwrap makes errors.Is(err, ErrExtra) hold.
func (e *ExtraError) Unwrap() error { return ErrExtra }

// Extra is what the scanner uses of a transaction's extra field.
type Extra struct {
	// PubKeys are the tx public keys (tag 0x01), in order. Legitimate
	// transactions have one; wallet2 tries every one of them.
	PubKeys [][32]byte
	// AdditionalPubKeys is the first additional-keys field (tag 0x04): one key
	// per output when a transaction pays a subaddress and another address.
	AdditionalPubKeys [][32]byte
	// Err is non-nil (an *ExtraError) when parsing stopped before the end.
	// The fields before that point are kept, exactly as wallet2 keeps them.
	Err error
}

// ParseExtra parses a tx extra the way Monero's parse_tx_extra does: field
// after field until the end, stopping at the first field it cannot read (an
// unknown tag included) and keeping what came before. It never panics and
// allocates at most what the input itself holds.
func ParseExtra(b []byte) Extra {
	var e Extra
	p := extraParser{b: b}
	for p.off < len(b) {
		start := p.off
		tag := b[p.off]
		p.off++
		if reason := p.field(tag, &e); reason != "" {
			e.Err = &ExtraError{Offset: start, Tag: tag, Reason: reason}
			break
		}
	}
	return e
}

// extraParser is a cursor over an extra.
type extraParser struct {
	b   []byte
	off int
}

// field parses one field whose tag was just read; it returns why it failed,
// or "" on success.
func (p *extraParser) field(tag byte, e *Extra) string {
	switch tag {
	case tagPadding:
		// Padding runs to the end of the extra and may only hold zeros.
		rest := p.b[p.off:]
		if len(rest) > maxPaddingBytes {
			return "padding too long"
		}
		for _, z := range rest {
			if z != 0 {
				return "nonzero byte in padding"
			}
		}
		p.off = len(p.b)
	case tagPubKey:
		k, ok := p.key()
		if !ok {
			return "truncated public key"
		}
		e.PubKeys = append(e.PubKeys, k)
	case tagNonce:
		n, ok := p.blob()
		if !ok {
			return "truncated nonce"
		}
		if n > maxNonceBytes {
			return "nonce too long"
		}
	case tagMergeMining:
		// A string holding varint depth || 32-byte merkle root, exactly.
		n, ok := p.blob()
		if !ok {
			return "truncated merge-mining tag"
		}
		inner := extraParser{b: p.b[p.off-n : p.off]}
		if _, ok := inner.varint(); !ok {
			return "bad merge-mining depth"
		}
		if _, ok := inner.key(); !ok || inner.off != len(inner.b) {
			return "bad merge-mining root"
		}
	case tagAdditionalKeys:
		n, ok := p.varint()
		if !ok {
			return "bad additional key count"
		}
		if n > uint64(len(p.b)-p.off)/32 {
			return "truncated additional keys"
		}
		keys := make([][32]byte, n)
		for i := range keys {
			keys[i], _ = p.key()
		}
		// find_tx_extra_field_by_type returns the first such field.
		if e.AdditionalPubKeys == nil {
			e.AdditionalPubKeys = keys
		}
	case tagMinergate:
		if _, ok := p.blob(); !ok {
			return "truncated minergate field"
		}
	default:
		return "unknown tag"
	}
	return ""
}

// key reads 32 bytes.
func (p *extraParser) key() ([32]byte, bool) {
	var k [32]byte
	if len(p.b)-p.off < len(k) {
		return k, false
	}
	p.off += copy(k[:], p.b[p.off:])
	return k, true
}

// blob reads a varint length and skips that many bytes, returning the length.
func (p *extraParser) blob() (int, bool) {
	n, ok := p.varint()
	if !ok || n > uint64(len(p.b)-p.off) {
		return 0, false
	}
	p.off += int(n)
	return int(n), true
}

// varint reads a Monero varint as binary_archive does (tools::read_varint):
// a byte that would overflow 64 bits and a zero continuation byte (a
// non-minimal encoding) are errors, while a varint cut off by the end of the
// extra yields the bits read so far, which the read that follows then fails on.
func (p *extraParser) varint() (uint64, bool) {
	var v uint64
	for shift := 0; ; shift += 7 {
		if p.off >= len(p.b) {
			return v, true
		}
		c := p.b[p.off]
		p.off++
		if shift+7 >= 64 && uint64(c) >= 1<<(64-shift) {
			return 0, false
		}
		if c == 0 && shift != 0 {
			return 0, false
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, true
		}
	}
}
