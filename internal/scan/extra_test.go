package scan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// key32 is a recognisable 32-byte key.
func key32(b byte) [32]byte { return [32]byte{b, b, b} }

// cat concatenates byte slices and keys.
func cat(parts ...any) []byte {
	var out []byte
	for _, p := range parts {
		switch v := p.(type) {
		case byte:
			out = append(out, v)
		case int:
			out = append(out, byte(v))
		case []byte:
			out = append(out, v...)
		case [32]byte:
			out = append(out, v[:]...)
		default:
			panic("cat: unsupported part")
		}
	}
	return out
}

func TestParseExtra(t *testing.T) {
	k1, k2, k3 := key32(1), key32(2), key32(3)
	nonce := cat(tagNonce, 9, 1, []byte("8 bytes!"))
	cases := []struct {
		name       string
		extra      []byte
		pubs, adds [][32]byte
		errAt      int // offset of the failing field; -1: no error
	}{
		{"empty", nil, nil, nil, -1},
		{"wallet2 two-output tx", cat(tagPubKey, k1, nonce), [][32]byte{k1}, nil, -1},
		{"additional keys", cat(tagPubKey, k1, tagAdditionalKeys, 2, k2, k3), [][32]byte{k1}, [][32]byte{k2, k3}, -1},
		{"miner extra nonce then padding", cat(tagPubKey, k1, tagNonce, 1, 0, tagPadding, 0, 0), [][32]byte{k1}, nil, -1},
		{"two tx keys", cat(tagPubKey, k1, tagPubKey, k2), [][32]byte{k1, k2}, nil, -1},
		{"first additional field wins", cat(tagAdditionalKeys, 1, k2, tagAdditionalKeys, 1, k3), nil, [][32]byte{k2}, -1},
		{"merge mining tag", cat(tagMergeMining, 33, 5, k2, tagPubKey, k1), [][32]byte{k1}, nil, -1},
		{"minergate", cat(tagMinergate, 2, 7, 7, tagPubKey, k1), [][32]byte{k1}, nil, -1},
		{"padding alone, 254 zeros", cat(tagPadding, make([]byte, 254)), nil, nil, -1},
		{"nonce of 255 bytes", cat(tagNonce, 0xff, 1, make([]byte, 255)), nil, nil, -1},

		{"unknown tag stops, keeps what came before", cat(tagPubKey, k1, 0x05, tagPubKey, k2), [][32]byte{k1}, nil, 33},
		{"truncated key", cat(tagPubKey, k1, tagPubKey, 1, 2, 3), [][32]byte{k1}, nil, 33},
		{"padding not last", cat(tagPadding, 0, tagPubKey, k1), nil, nil, 0},
		{"padding of 255 zeros", cat(tagPubKey, k1, tagPadding, make([]byte, 255)), [][32]byte{k1}, nil, 33},
		{"nonce too long", cat(tagNonce, 0x80, 2, make([]byte, 256)), nil, nil, 0},
		{"nonce past the end", cat(tagPubKey, k1, tagNonce, 9, 1), [][32]byte{k1}, nil, 33},
		{"additional count past the end", cat(tagPubKey, k1, tagAdditionalKeys, 3, k2, k3), [][32]byte{k1}, nil, 33},
		{"additional count huge", cat(tagAdditionalKeys, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}), nil, nil, 0},
		{"varint overflow", cat(tagNonce, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}), nil, nil, 0},
		{"non-minimal varint", cat(tagNonce, 0x81, 0x00, 1), nil, nil, 0},
		{"merge mining root short", cat(tagMergeMining, 32, 5, make([]byte, 31)), nil, nil, 0},
		{"merge mining with trailing bytes", cat(tagMergeMining, 34, 5, k2, 9), nil, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := ParseExtra(c.extra)
			assert.Equal(t, c.pubs, e.PubKeys)
			assert.Equal(t, c.adds, e.AdditionalPubKeys)
			if c.errAt < 0 {
				assert.NoError(t, e.Err)
				return
			}
			var xe *ExtraError
			require.ErrorAs(t, e.Err, &xe)
			assert.ErrorIs(t, e.Err, ErrExtra)
			assert.Equal(t, c.errAt, xe.Offset)
		})
	}
}

// FuzzParseExtra: hostile extras never panic, never yield more keys than
// their bytes hold, keep exactly the keys of the fields before an error, and
// what parses completely re-serialises to a prefix-consistent form.
func FuzzParseExtra(f *testing.F) {
	k := key32(9)
	f.Add([]byte{})
	f.Add(cat(tagPubKey, k, tagNonce, 9, 1, []byte("8 bytes!")))
	f.Add(cat(tagPubKey, k, tagAdditionalKeys, 2, k, k))
	f.Add(cat(tagPubKey, k, tagNonce, 1, 0, tagPadding, 0, 0))
	f.Add(cat(tagMergeMining, 33, 5, k, tagMinergate, 1, 0))
	f.Add(cat(tagAdditionalKeys, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}))
	f.Add(cat(tagNonce, 0x81, 0x00))
	f.Fuzz(func(t *testing.T, b []byte) {
		e := ParseExtra(b)
		if n := 32 * (len(e.PubKeys) + len(e.AdditionalPubKeys)); n > len(b) {
			t.Fatalf("%d key bytes out of a %d-byte extra", n, len(b))
		}
		var xe *ExtraError
		if e.Err != nil {
			if !errors.As(e.Err, &xe) || !errors.Is(e.Err, ErrExtra) || xe.Offset >= len(b) || b[xe.Offset] != xe.Tag {
				t.Fatalf("bad error %v", e.Err)
			}
			// Everything before the failing field parses cleanly, to the same keys.
			again := ParseExtra(b[:xe.Offset])
			if again.Err != nil || len(again.PubKeys) != len(e.PubKeys) || len(again.AdditionalPubKeys) != len(e.AdditionalPubKeys) {
				t.Fatalf("prefix before offset %d parses differently: %v", xe.Offset, again.Err)
			}
		}
		for _, pk := range e.PubKeys {
			if !bytes.Contains(b, cat(tagPubKey, pk)) {
				t.Fatalf("key %x not in the input", pk)
			}
		}
	})
}

func TestVarintMatchesMonero(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 300, 1 << 32, 1<<64 - 1} {
		b := binary.AppendUvarint(nil, v)
		p := extraParser{b: b}
		got, ok := p.varint()
		assert.True(t, ok)
		assert.Equal(t, v, got)
		assert.Equal(t, len(b), p.off)
	}
}
