package keyring

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func hexKey(b byte) string { return hex.EncodeToString(bytes.Repeat([]byte{b}, KeySize)) }

func mustParse(t testing.TB, spec string) *Keyring {
	t.Helper()
	k, err := Parse(spec)
	require.NoError(t, err)
	return k
}

func TestRoundTrip(t *testing.T) {
	k := mustParse(t, "k1:"+hexKey(1))
	for _, pt := range [][]byte{nil, {}, []byte("multisig_info secret"), bytes.Repeat([]byte{7}, 1<<16)} {
		sealed, err := k.Seal(pt, []byte("ctx"))
		require.NoError(t, err)
		assert.Len(t, sealed, 1+1+2+NonceSize+len(pt)+tagSize)
		assert.Equal(t, []byte{0x01, 2, 'k', '1'}, sealed[:4], "header layout")
		got, err := k.Open(sealed, []byte("ctx"))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(pt, got), "plaintext differs")
	}
}

func TestEveryFlippedByteFails(t *testing.T) {
	k := mustParse(t, "k1:"+hexKey(1))
	sealed, err := k.Seal([]byte("wallet password"), []byte("aad"))
	require.NoError(t, err)
	for i := range sealed {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(sealed)
			bad[i] ^= mask
			got, err := k.Open(bad, []byte("aad"))
			require.Error(t, err, "byte %d mask %#x opened", i, mask)
			assert.Nil(t, got)
			switch {
			case i >= 1 && i < 4:
				// Flipping the id or its length names another key (or an invalid id): never
				// the right one. Which one depends on the random nonce that follows the id.
				assert.True(t, errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrMalformed),
					"byte %d: %v", i, err)
			default:
				assert.True(t, errors.Is(err, ErrDecrypt) || errors.Is(err, ErrMalformed),
					"byte %d: %v", i, err)
			}
		}
	}
	for n := range len(sealed) {
		_, err := k.Open(sealed[:n], []byte("aad"))
		assert.True(t, errors.Is(err, ErrDecrypt) || errors.Is(err, ErrMalformed), "truncated to %d: %v", n, err)
	}
}

func TestIDIsAuthenticated(t *testing.T) {
	// Two ids of one key: re-labelling a blob must fail even though the key would fit.
	key := bytes.Repeat([]byte{9}, KeySize)
	k, err := New("ka", map[string][]byte{"ka": key, "kb": key})
	require.NoError(t, err)
	sealed, err := k.Seal([]byte("x"), nil)
	require.NoError(t, err)
	sealed[3] = 'b'
	_, err = k.Open(sealed, nil)
	assert.ErrorIs(t, err, ErrDecrypt)
}

func TestWrongAAD(t *testing.T) {
	k := mustParse(t, "k1:"+hexKey(1))
	sealed, err := k.Seal([]byte("x"), []byte("temporal-payload"))
	require.NoError(t, err)
	for _, aad := range [][]byte{nil, []byte("temporal-payloaD"), []byte("other")} {
		_, err = k.Open(sealed, aad)
		assert.ErrorIs(t, err, ErrDecrypt)
	}
}

func TestWrongKeySameID(t *testing.T) {
	sealed, err := mustParse(t, "k1:"+hexKey(1)).Seal([]byte("x"), nil)
	require.NoError(t, err)
	_, err = mustParse(t, "k1:"+hexKey(2)).Open(sealed, nil)
	assert.ErrorIs(t, err, ErrDecrypt)
}

func TestUnknownKey(t *testing.T) {
	sealed, err := mustParse(t, "k1:"+hexKey(1)).Seal([]byte("x"), nil)
	require.NoError(t, err)
	_, err = mustParse(t, "k9:"+hexKey(1)).Open(sealed, nil)
	assert.ErrorIs(t, err, ErrUnknownKey)
	assert.Contains(t, err.Error(), "k1")
}

func TestRotation(t *testing.T) {
	old := mustParse(t, "k1:"+hexKey(1))
	sealedOld, err := old.Seal([]byte("old secret"), nil)
	require.NoError(t, err)

	rotated := mustParse(t, "k2:"+hexKey(2)+", k1:"+hexKey(1))
	assert.Equal(t, "k2", rotated.CurrentID())
	assert.Equal(t, []string{"k1", "k2"}, rotated.IDs())
	got, err := rotated.Open(sealedOld, nil)
	require.NoError(t, err)
	assert.Equal(t, "old secret", string(got))

	sealedNew, err := rotated.Seal([]byte("new secret"), nil)
	require.NoError(t, err)
	assert.Equal(t, "k2", string(sealedNew[2:4]), "new data is sealed with the first key")

	only2 := mustParse(t, "k2:"+hexKey(2))
	_, err = only2.Open(sealedOld, nil)
	assert.ErrorIs(t, err, ErrUnknownKey)
	got, err = only2.Open(sealedNew, nil)
	require.NoError(t, err)
	assert.Equal(t, "new secret", string(got))
}

func TestNoncesDiffer(t *testing.T) {
	k := mustParse(t, "k1:"+hexKey(1))
	a, err := k.Seal([]byte("same"), nil)
	require.NoError(t, err)
	b, err := k.Seal([]byte("same"), nil)
	require.NoError(t, err)
	assert.NotEqual(t, a[4:4+NonceSize], b[4:4+NonceSize])
	assert.NotEqual(t, a, b)
}

func TestParseErrors(t *testing.T) {
	secret := hexKey(0xab)
	cases := map[string]struct {
		spec, want string
	}{
		"empty":        {"", "empty"},
		"no colon":     {secret, "no \"id:\" prefix"},
		"not hex":      {"k1:" + strings.Repeat("zz", KeySize), "key k1 is not hex"},
		"odd hex":      {"k1:" + secret[:63], "key k1 is not hex"},
		"31 bytes":     {"k1:" + secret[:62], "key k1 has 31 bytes, need 32"},
		"33 bytes":     {"k1:" + secret + "ab", "key k1 has 33 bytes, need 32"},
		"duplicate":    {"k1:" + secret + ",k1:" + hexKey(1), "duplicate key id k1"},
		"bad id chars": {"k 1:" + secret, "id must match"},
		"empty id":     {":" + secret, "id must match"},
		"long id":      {strings.Repeat("a", 33) + ":" + secret, "id must match"},
		"trailing":     {"k1:" + secret + ",", "entry 2"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			k, err := Parse(c.spec)
			require.Error(t, err)
			assert.Nil(t, k)
			assert.ErrorIs(t, err, ErrMalformed)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "abab", "error leaks key material")
		})
	}
}

func TestNewErrors(t *testing.T) {
	_, err := New("k1", nil)
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = New("k2", map[string][]byte{"k1": make([]byte, KeySize)})
	assert.ErrorIs(t, err, ErrUnknownKey)
	_, err = New("k1", map[string][]byte{"k1": make([]byte, 16)})
	assert.ErrorIs(t, err, ErrMalformed)
	assert.Contains(t, err.Error(), "key k1 has 16 bytes, need 32")
}

func TestFromEnv(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		t.Setenv(EnvKeys, "")
		require.NoError(t, os.Unsetenv(EnvKeys)) // t.Setenv restores it afterwards
		_, err := FromEnv()
		require.Error(t, err)
		for _, want := range []string{EnvKeys, "id:<64 hex digits>", `echo "k1:$(openssl rand -hex 32)"`} {
			assert.Contains(t, err.Error(), want)
		}
	})
	t.Run("blank", func(t *testing.T) {
		t.Setenv(EnvKeys, "  ")
		_, err := FromEnv()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "$"+EnvKeys+" is not set")
	})
	t.Run("short key", func(t *testing.T) {
		t.Setenv(EnvKeys, "k1:"+hexKey(1)[:62])
		_, err := FromEnv()
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrMalformed)
		for _, want := range []string{EnvKeys, "key k1 has 31 bytes, need 32", "openssl rand -hex 32"} {
			assert.Contains(t, err.Error(), want)
		}
	})
	t.Run("ok", func(t *testing.T) {
		t.Setenv(EnvKeys, " k2:"+hexKey(2)+",k1:"+hexKey(1)+"\n")
		k, err := FromEnv()
		require.NoError(t, err)
		assert.Equal(t, "k2", k.CurrentID())
	})
}

func TestGenerate(t *testing.T) {
	k, spec, err := Generate("dev")
	require.NoError(t, err)
	assert.Equal(t, "dev", k.CurrentID())
	sealed, err := k.Seal([]byte("x"), nil)
	require.NoError(t, err)
	again := mustParse(t, spec)
	got, err := again.Open(sealed, nil)
	require.NoError(t, err)
	assert.Equal(t, "x", string(got))

	_, spec2, err := Generate("dev")
	require.NoError(t, err)
	assert.NotEqual(t, spec, spec2)

	_, _, err = Generate("bad id")
	assert.ErrorIs(t, err, ErrMalformed)
}

func TestPrintingHidesKeys(t *testing.T) {
	k := mustParse(t, "k2:"+hexKey(2)+",k1:"+hexKey(1))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		assert.Equal(t, "keyring(current=k2, ids=k1,k2)", fmt.Sprintf(verb, k), verb)
	}
}

func FuzzOpen(f *testing.F) {
	k := mustParse(f, "k1:"+hexKey(1))
	sealed, err := k.Seal([]byte("seed"), []byte("aad"))
	require.NoError(f, err)
	f.Add(sealed, []byte("aad"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1, 2, 'k', '1'}, []byte(nil))
	f.Add([]byte{1, 255}, []byte("aad"))
	f.Fuzz(func(t *testing.T, data, aad []byte) {
		got, err := k.Open(data, aad)
		if err != nil {
			if got != nil {
				t.Fatal("plaintext returned with error")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrDecrypt) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		// Only a genuine seal may open. Fuzz workers re-run this setup with fresh nonces,
		// so compare what was sealed rather than the blob.
		if string(got) != "seed" || !bytes.Equal(aad, []byte("aad")) {
			t.Fatalf("forged input opened")
		}
	})
}
