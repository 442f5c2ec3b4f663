package scan

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/moneroaddr"
)

// vectorsPath holds what TestRegtestAgreesWithWallet recorded from a real
// monerod and wallet-rpc (regtest, throw-away keys): the transactions' JSON,
// the keys and what the wallets reported as received.
const vectorsPath = "testdata/regtest.json"

// vectors is the recorded file.
type vectors struct {
	Note     string           `json:"note"`
	Monero   string           `json:"monero"`
	Keys     []vectorKey      `json:"keys"`
	Txs      []vectorTx       `json:"txs"`
	Blocks   []vectorBlock    `json:"blocks"`
	Expected []vectorExpected `json:"expected"`
}

// vectorKey is one wallet's address and keys; Decoy wallets expect nothing.
type vectorKey struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	ViewKey  string `json:"view_key"`
	SpendKey string `json:"spend_key"`
}

// vectorTx is one /get_transactions entry.
type vectorTx struct {
	Hash   string `json:"hash"`
	AsJSON string `json:"as_json"`
	Why    string `json:"why"`
}

// vectorBlock is one get_block result, for its miner transaction.
type vectorBlock struct {
	Height      uint64 `json:"height"`
	MinerTxHash string `json:"miner_tx_hash"`
	JSON        string `json:"json"`
}

// vectorExpected is one output a wallet reported (incoming_transfers).
type vectorExpected struct {
	Key         string `json:"key"`
	TxHash      string `json:"tx_hash"`
	OutputIndex int    `json:"output_index"`
	OutputKey   string `json:"output_key"`
	Amount      uint64 `json:"amount"`
	UnlockTime  uint64 `json:"unlock_time"`
}

// TestRecordedRegtestVectors replays the recorded regtest transactions: the
// scanner must find exactly the outputs the wallets reported.
func TestRecordedRegtestVectors(t *testing.T) {
	b, err := os.ReadFile(vectorsPath)
	require.NoError(t, err)
	var v vectors
	require.NoError(t, json.Unmarshal(b, &v))
	require.NotEmpty(t, v.Expected)
	checkVectors(t, &v)

	// The recording exercises the additional-key path: without those keys
	// the output wallet2 found through one of them is missed.
	s, err := NewScanner(v.keys(t))
	require.NoError(t, err)
	var withAdditional int
	for _, tx := range v.parse(t) {
		if len(tx.Extra.AdditionalPubKeys) == 0 {
			continue
		}
		withAdditional++
		full, err := s.ScanTx(tx)
		require.NoError(t, err)
		tx.Extra.AdditionalPubKeys = nil
		stripped, err := s.ScanTx(tx)
		require.NoError(t, err)
		assert.Less(t, len(stripped.Matches), len(full.Matches), tx.Hash)
	}
	assert.Equal(t, 1, withAdditional)
}

// keys decodes the recorded keys.
func (v *vectors) keys(t testing.TB) []Key {
	t.Helper()
	keys := make([]Key, len(v.Keys))
	for i, k := range v.Keys {
		keys[i].ID = k.ID
		decodeHex32(t, &keys[i].View, k.ViewKey)
		decodeHex32(t, &keys[i].Spend, k.SpendKey)
		a, err := moneroaddr.Parse(k.Address)
		require.NoError(t, err, k.ID)
		keys[i].Subaddress = a.Kind == moneroaddr.Subaddress
	}
	return keys
}

// parse decodes every recorded transaction, miner transactions included.
func (v *vectors) parse(t testing.TB) []*Tx {
	t.Helper()
	var txs []*Tx
	for _, b := range v.Blocks {
		tx, err := ParseMinerTx(b.MinerTxHash, []byte(b.JSON))
		require.NoError(t, err, "block %d", b.Height)
		txs = append(txs, tx)
	}
	for _, r := range v.Txs {
		tx, err := ParseTx(r.Hash, []byte(r.AsJSON))
		require.NoError(t, err, r.Hash)
		require.NoError(t, tx.Extra.Err, r.Hash)
		txs = append(txs, tx)
	}
	return txs
}

// checkVectors scans v's transactions in every way the package offers and
// compares each result with v.Expected.
func checkVectors(t *testing.T, v *vectors) {
	t.Helper()
	keys := v.keys(t)
	txs := v.parse(t)
	want := make([]string, len(v.Expected))
	for i, e := range v.Expected {
		want[i] = fmt.Sprintf("%s %s #%d %s %d unlock %d", e.Key, e.TxHash, e.OutputIndex, e.OutputKey, e.Amount, e.UnlockTime)
	}
	slices.Sort(want)

	// All keys at once (per-R tables), and each key alone (plain ScalarMult).
	s, err := NewScanner(keys)
	require.NoError(t, err)
	for _, workers := range []int{1, 2, 3} {
		res, err := s.ScanTxs(txs, workers)
		require.NoError(t, err)
		assert.Empty(t, res.Rejected)
		assert.Equal(t, want, describe(res.Matches), "ScanTxs, %d workers", workers)
	}
	var one []Match
	for _, k := range keys {
		s1, err := NewScanner([]Key{k})
		require.NoError(t, err)
		for _, tx := range txs {
			res, err := s1.ScanTx(tx)
			require.NoError(t, err)
			assert.Empty(t, res.Rejected)
			one = append(one, res.Matches...)
		}
	}
	assert.Equal(t, want, describe(one), "ScanTx, one key at a time")
}

// describe renders matches like the expected lines, sorted.
func describe(ms []Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%s %s #%d %x %d unlock %d", m.KeyID, m.TxHash, m.OutputIndex, m.OutputKey, m.Amount, m.UnlockTime)
	}
	slices.Sort(out)
	return out
}

// decodeHex32 decodes 64 hex digits into dst.
func decodeHex32(t testing.TB, dst *[32]byte, s string) {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	require.Len(t, b, 32)
	copy(dst[:], b)
}

// writeVectors saves v for the replay test.
func writeVectors(t *testing.T, v *vectors) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(vectorsPath), 0o755))
	require.NoError(t, os.WriteFile(vectorsPath, append(b, '\n'), 0o644))
	t.Logf("wrote %s (%d txs, %d blocks, %d expected outputs)", vectorsPath, len(v.Txs), len(v.Blocks), len(v.Expected))
}
