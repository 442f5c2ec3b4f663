package moneroaddr

import (
	"encoding/binary"
	"math/bits"
)

// Monero's base58 is not Bitcoin's: the data is cut into 8-byte blocks, each
// block is read as a big-endian integer and written as a fixed number of
// base58 digits (most significant first, left-padded with the zero digit
// '1'). A full 8-byte block always takes 11 digits; the final, possibly
// shorter, block takes the number of digits needed for the largest value of
// its byte length. The output length is therefore a function of the input
// length alone.

const (
	alphabet      = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	fullBlockSize = 8  // bytes
	fullEncSize   = 11 // digits for a full block
)

// encodedBlockSizes[n] is the number of digits used for a block of n bytes.
var encodedBlockSizes = [fullBlockSize + 1]int{0, 2, 3, 5, 6, 7, 9, 10, 11}

// decodedBlockSizes is the inverse of encodedBlockSizes: the number of bytes
// carried by a block of n digits, or -1 when no byte length encodes to n
// digits.
var decodedBlockSizes = func() [fullEncSize + 1]int {
	var t [fullEncSize + 1]int
	for i := range t {
		t[i] = -1
	}
	for n, d := range encodedBlockSizes {
		t[d] = n
	}
	return t
}()

// digitValue maps a byte to its base58 digit value, or -1 if the byte is not
// in the alphabet.
var digitValue = func() [256]int8 {
	var t [256]int8
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// encodedLen returns the number of base58 digits for n bytes of data.
func encodedLen(n int) int {
	return n/fullBlockSize*fullEncSize + encodedBlockSizes[n%fullBlockSize]
}

// base58Encode encodes data block-wise.
func base58Encode(data []byte) string {
	out := make([]byte, 0, encodedLen(len(data)))
	for len(data) > 0 {
		n := min(len(data), fullBlockSize)
		out = appendBlock(out, data[:n])
		data = data[n:]
	}
	return string(out)
}

// appendBlock appends the fixed-width encoding of one block of 1..8 bytes.
func appendBlock(out []byte, block []byte) []byte {
	var buf [fullBlockSize]byte
	copy(buf[fullBlockSize-len(block):], block)
	v := binary.BigEndian.Uint64(buf[:])

	width := encodedBlockSizes[len(block)]
	start := len(out)
	for range width {
		out = append(out, alphabet[0])
	}
	for i := start + width - 1; i >= start && v > 0; i-- {
		out[i] = alphabet[v%58]
		v /= 58
	}
	return out
}

// decodeError says why a base58 string could not be decoded.
type decodeError struct {
	kind error // errAlphabet or errBlock
	pos  int   // character offset of the offending digit or block
}

// base58Decode decodes s block-wise. It rejects characters outside the
// alphabet, a final block whose width is not in encodedBlockSizes, and blocks
// whose value does not fit their byte length. Every string it accepts is the
// unique encoding of its result, so base58Encode(base58Decode(s)) == s.
func base58Decode(s string) ([]byte, *decodeError) {
	for i := 0; i < len(s); i++ {
		if digitValue[s[i]] < 0 {
			return nil, &decodeError{kind: ErrAlphabet, pos: i}
		}
	}
	full, rest := len(s)/fullEncSize, len(s)%fullEncSize
	lastBytes := decodedBlockSizes[rest]
	if lastBytes < 0 {
		return nil, &decodeError{kind: ErrLength, pos: full * fullEncSize}
	}
	out := make([]byte, 0, full*fullBlockSize+lastBytes)
	for off := 0; off < len(s); off += fullEncSize {
		end := min(off+fullEncSize, len(s))
		var ok bool
		out, ok = appendDecodedBlock(out, s[off:end])
		if !ok {
			return nil, &decodeError{kind: ErrEncoding, pos: off}
		}
	}
	return out, nil
}

// appendDecodedBlock decodes one block of digits (already checked to be in
// the alphabet, and of a width listed in encodedBlockSizes) and appends its
// bytes. It reports false if the value overflows the block's byte length.
func appendDecodedBlock(out []byte, digits string) ([]byte, bool) {
	n := decodedBlockSizes[len(digits)]
	var v uint64
	for i := 0; i < len(digits); i++ {
		hi, lo := bits.Mul64(v, 58)
		if hi != 0 {
			return out, false
		}
		var carry uint64
		v, carry = bits.Add64(lo, uint64(digitValue[digits[i]]), 0)
		if carry != 0 {
			return out, false
		}
	}
	if n < fullBlockSize && v>>(8*uint(n)) != 0 {
		return out, false
	}
	var buf [fullBlockSize]byte
	binary.BigEndian.PutUint64(buf[:], v)
	return append(out, buf[fullBlockSize-n:]...), true
}
