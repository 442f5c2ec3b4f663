package scan

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordedTxJSON returns the recorded regtest transactions' JSON, as fuzz and
// mutation seeds in monerod's exact shape.
func recordedTxJSON(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(vectorsPath)
	require.NoError(t, err)
	var v vectors
	require.NoError(t, json.Unmarshal(b, &v))
	var out []string
	for _, tx := range v.Txs {
		out = append(out, tx.AsJSON)
	}
	return out
}

// mutate decodes a tx JSON into a generic map, lets f change it and encodes it.
func mutate(t *testing.T, src string, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(src), &m))
	f(m)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

// vout0 returns the first output's target of a decoded tx map.
func vout0(m map[string]any) map[string]any {
	return m["vout"].([]any)[0].(map[string]any)["target"].(map[string]any)
}

// rct returns rct_signatures of a decoded tx map.
func rct(m map[string]any) map[string]any { return m["rct_signatures"].(map[string]any) }

func TestParseTxRejectsHostileJSON(t *testing.T) {
	src := recordedTxJSON(t)[0]
	_, err := ParseTx("ok", []byte(src))
	require.NoError(t, err)
	cases := map[string][]byte{
		"empty":              nil,
		"garbage":            []byte("\x00\xff not json"),
		"truncated":          []byte(src[:len(src)/2]),
		"array":              []byte("[1,2,3]"),
		"no version":         mutate(t, src, func(m map[string]any) { delete(m, "version") }),
		"version 3":          mutate(t, src, func(m map[string]any) { m["version"] = 3 }),
		"version negative":   mutate(t, src, func(m map[string]any) { m["version"] = -2 }),
		"unlock_time string": mutate(t, src, func(m map[string]any) { m["unlock_time"] = "0" }),
		"unlock_time 2^64":   mutate(t, src, func(m map[string]any) { m["unlock_time"] = json.Number("18446744073709551616") }),
		"no rct_signatures":  mutate(t, src, func(m map[string]any) { delete(m, "rct_signatures") }),
		"rct type 256":       mutate(t, src, func(m map[string]any) { rct(m)["type"] = 256 }),
		"extra as base64":    mutate(t, src, func(m map[string]any) { m["extra"] = "AQID" }),
		"extra byte 256":     mutate(t, src, func(m map[string]any) { m["extra"] = []int{1, 256} }),
		"extra byte -1":      mutate(t, src, func(m map[string]any) { m["extra"] = []int{-1} }),
		"target empty":       mutate(t, src, func(m map[string]any) { m["vout"].([]any)[0].(map[string]any)["target"] = map[string]any{} }),
		"target both": mutate(t, src, func(m map[string]any) {
			vout0(m)["key"] = strings.Repeat("00", 32)
		}),
		"tagged key without view tag": mutate(t, src, func(m map[string]any) {
			delete(vout0(m)["tagged_key"].(map[string]any), "view_tag")
		}),
		"view tag of 2 bytes": mutate(t, src, func(m map[string]any) {
			vout0(m)["tagged_key"].(map[string]any)["view_tag"] = "abcd"
		}),
		"key of 31 bytes": mutate(t, src, func(m map[string]any) {
			vout0(m)["tagged_key"].(map[string]any)["key"] = strings.Repeat("00", 31)
		}),
		"key not hex": mutate(t, src, func(m map[string]any) {
			vout0(m)["tagged_key"].(map[string]any)["key"] = strings.Repeat("zz", 32)
		}),
		"fewer ecdhInfo than outputs": mutate(t, src, func(m map[string]any) {
			r := rct(m)
			r["ecdhInfo"] = r["ecdhInfo"].([]any)[1:]
		}),
		"more outPk than outputs": mutate(t, src, func(m map[string]any) {
			r := rct(m)
			r["outPk"] = append(r["outPk"].([]any), strings.Repeat("00", 32))
		}),
		"ecdh amount of 32 bytes": mutate(t, src, func(m map[string]any) {
			rct(m)["ecdhInfo"].([]any)[0].(map[string]any)["amount"] = strings.Repeat("00", 32)
		}),
		"ecdh amount not hex": mutate(t, src, func(m map[string]any) {
			rct(m)["ecdhInfo"].([]any)[0].(map[string]any)["amount"] = "\"}{"
		}),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			tx, err := ParseTx("deadbeef", b)
			require.Error(t, err)
			assert.Nil(t, tx)
			assert.ErrorIs(t, err, ErrMalformedTx)
			var te *TxError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, "deadbeef", te.TxHash)
		})
	}
}

func TestParseTxKeepsBadExtraAndOldFormats(t *testing.T) {
	src := recordedTxJSON(t)[0]
	// A broken extra is the sender's business: the tx still parses, with
	// whatever came before the break.
	tx, err := ParseTx("x", mutate(t, src, func(m map[string]any) {
		m["extra"] = append(m["extra"].([]any), 0x77, 1)
	}))
	require.NoError(t, err)
	assert.Len(t, tx.Extra.PubKeys, 1)
	assert.ErrorIs(t, tx.Extra.Err, ErrExtra)

	// Pre-v0.18 outputs: {"key": …} without a view tag.
	tx, err = ParseTx("x", mutate(t, src, func(m map[string]any) {
		for _, o := range m["vout"].([]any) {
			target := o.(map[string]any)["target"].(map[string]any)
			target["key"] = target["tagged_key"].(map[string]any)["key"]
			delete(target, "tagged_key")
		}
	}))
	require.NoError(t, err)
	for _, o := range tx.Outputs {
		assert.False(t, o.HasViewTag)
	}

	// An older RingCT type parses; only a match on it is reported unsupported.
	tx, err = ParseTx("x", mutate(t, src, func(m map[string]any) {
		r := rct(m)
		r["type"] = 3
		for _, e := range r["ecdhInfo"].([]any) {
			e.(map[string]any)["amount"] = strings.Repeat("00", 32)
			e.(map[string]any)["mask"] = strings.Repeat("00", 32)
		}
	}))
	require.NoError(t, err)
	assert.Equal(t, uint8(3), tx.RCTType)
	assert.Nil(t, tx.ECDHAmounts)
}

func TestParseMinerTx(t *testing.T) {
	b, err := os.ReadFile(vectorsPath)
	require.NoError(t, err)
	var v vectors
	require.NoError(t, json.Unmarshal(b, &v))
	block := v.Blocks[0]
	tx, err := ParseMinerTx(block.MinerTxHash, []byte(block.JSON))
	require.NoError(t, err)
	assert.True(t, tx.Coinbase)
	assert.Equal(t, uint8(RCTTypeNull), tx.RCTType)
	assert.Equal(t, block.Height+60, tx.UnlockTime, "coinbase unlocks 60 blocks later")
	assert.Positive(t, tx.Outputs[0].Amount)

	for name, js := range map[string]string{
		"garbage":    "{",
		"no miner":   `{"major_version": 16}`,
		"not a gen":  `{"miner_tx": ` + recordedTxJSON(t)[0] + `}`,
		"miner null": `{"miner_tx": null}`,
	} {
		_, err := ParseMinerTx("h", []byte(js))
		assert.ErrorIs(t, err, ErrMalformedTx, name)
	}
}

// FuzzParseTx: arbitrary bytes never panic ParseTx; errors are typed; what
// parses satisfies the invariants the scanner relies on and scans cleanly.
func FuzzParseTx(f *testing.F) {
	for _, s := range recordedTxJSON(f) {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"version":2,"unlock_time":0,"vout":[{"amount":0,"target":{"key":"` + strings.Repeat("11", 32) + `"}}],"extra":[1,2],"rct_signatures":{"type":0}}`))
	w := newTestWallet("w")
	s, err := NewScanner(keysOf(w))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := ParseTx("h", b)
		if err != nil {
			if !errors.Is(err, ErrMalformedTx) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if err := tx.validate(); err != nil {
			t.Fatalf("ParseTx returned an invalid tx: %v", err)
		}
		if _, err := s.ScanTx(tx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestKeyNeverPrintsTheViewKey(t *testing.T) {
	w := newTestWallet("escrow-1")
	view := hex.EncodeToString(w.key.View[:])
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, w.key), fmt.Sprintf(verb, &w.key), fmt.Sprintf(verb, []Key{w.key}))
	}
	js, err := json.Marshal(struct{ K Key }{w.key})
	require.NoError(t, err)
	outs = append(outs, string(js))
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("registered", "key", w.key)
	outs = append(outs, logged.String())
	s, err := NewScanner(keysOf(w))
	require.NoError(t, err)
	outs = append(outs, fmt.Sprintf("%v %+v %#v", s, s, s), fmt.Sprintf("%+v", *s))
	for _, o := range outs {
		assert.NotContains(t, strings.ToLower(o), view)
		assert.NotContains(t, o, fmt.Sprint(w.key.View))
	}
	assert.Equal(t, s.String(), fmt.Sprintf("%+v", *s), "no verb reaches the prepared keys")
	assert.Contains(t, w.key.String(), "escrow-1")
	assert.Contains(t, logged.String(), redacted)
}
