package moneroaddr

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error wraps
// ErrInvalid without echoing the input, and that whatever parses re-encodes
// to exactly the same string (the encoding is canonical).
func FuzzParse(f *testing.F) {
	for _, fx := range fixtures {
		f.Add(fx.addr)
	}
	for _, s := range []string{
		synthZeroKeysMain, synthZeroKeysTest, synthSpendYP, synthViewX0Neg,
		synthSpendOffCurve, synthPrefix77, synthIntegratedShort, synthStandardLong,
		"", "4", "zzzzzzzzzzz" + fixtures[0].addr[11:],
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			checkNoEcho(t, s, err)
			return
		}
		enc, err := Encode(a)
		if err != nil {
			t.Fatalf("Encode(Parse(%q)): %v", s, err)
		}
		if enc != s {
			t.Fatalf("Encode(Parse(%q)) = %q", s, enc)
		}
		if err := Valid(s, a.Network); err != nil {
			t.Fatalf("Valid(%q, %s): %v", s, a.Network, err)
		}
	})
}

// FuzzBase58 checks the block codec on its own, where random input decodes
// far more often than whole addresses do.
func FuzzBase58(f *testing.F) {
	f.Add([]byte{}, "")
	f.Add([]byte{0, 0, 0xff}, "jpXCZedGfVQ")
	f.Add([]byte("hello, monero"), "1111111111112")
	f.Fuzz(func(t *testing.T, data []byte, s string) {
		enc := base58Encode(data)
		got, derr := base58Decode(enc)
		if derr != nil || !bytes.Equal(got, data) {
			t.Fatalf("decode(encode(%x)) = %x, %v", data, got, derr)
		}
		if dec, derr := base58Decode(s); derr == nil && base58Encode(dec) != s {
			t.Fatalf("encode(decode(%q)) = %q", s, base58Encode(dec))
		}
	})
}
