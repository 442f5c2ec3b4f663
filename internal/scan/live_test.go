package scan

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/walletproc/proctest"
	"github.com/xmr-escrow/xmr-escrow/moneroaddr"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

var updateVectors = flag.Bool("update-scan-vectors", false,
	"rewrite "+vectorsPath+" from TestRegtestAgreesWithWallet's run")

// needMonero tells the reader of a skip or a failure how to get the binaries.
const needMonero = "this test runs monerod --regtest and monero-wallet-rpc: install them with `make tools`"

// TestMain fails the run if a test left monerod or wallet-rpc behind.
func TestMain(m *testing.M) { proctest.Main(m) }

// TestRegtestAgreesWithWallet pays wallets on a regtest chain through real
// wallet-rpc transfers and checks that the scanner, given each wallet's view
// key and public spend key, finds exactly the outputs the wallet itself
// reports, in the pool and once mined, with the same amounts; a decoy wallet
// that is never paid must match nothing. One of the funder's subaddresses is
// watched too, for a real output found through an additional tx key. With -update-scan-vectors it records
// everything into testdata for TestRecordedRegtestVectors.
func TestRegtestAgreesWithWallet(t *testing.T) {
	if testing.Short() {
		t.Skip(needMonero + "; skipped in -short mode")
	}
	for _, find := range []func() (string, error){devstack.MonerodBinary, devstack.WalletRPCBinary} {
		if _, err := find(); err != nil {
			t.Fatalf("%v\n%s", err, needMonero)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	dir := t.TempDir()
	started := time.Now()
	chain, err := devstack.StartChain(ctx, filepath.Join(dir, "chain"), devstack.SpendableBlocks)
	require.NoError(t, err, needMonero)
	t.Cleanup(func() { _ = chain.Stop() })
	payees, err := devstack.StartWalletRPC(ctx, chain.WalletRPCOptions("payees", filepath.Join(dir, "payees")))
	require.NoError(t, err, needMonero)
	t.Cleanup(func() { _ = payees.Stop() })
	t.Logf("chain and wallet-rpcs up in %s", time.Since(started).Round(time.Second))
	pc := walletrpc.New(walletrpc.Config{URL: payees.URL, Timeout: 3 * time.Minute})
	fc := chain.FunderClient

	// Wallets exist before the payments, so their scan starts before them.
	v := &vectors{
		Note:   "recorded by TestRegtestAgreesWithWallet -update-scan-vectors; regtest throw-away keys",
		Monero: moneroVersion(ctx, t, chain, pc),
	}
	payee := map[string]bool{"recv1": true, "recv2": true, "decoy": true}
	for _, id := range []string{"recv1", "recv2", "decoy"} {
		require.NoError(t, pc.CreateWallet(ctx, walletrpc.CreateWalletRequest{Filename: id}))
		v.Keys = append(v.Keys, walletKey(ctx, t, pc, id))
	}
	v.Keys = append(v.Keys, walletKey(ctx, t, fc, "funder"))
	addr := map[string]string{}
	for _, k := range v.Keys {
		addr[k.ID] = k.Address
	}
	// A subaddress is watched as its own key: the wallet's view key with the
	// subaddress's spend key. Paid next to a standard address, its output
	// is found through an additional tx key, which tests that path.
	var sub struct {
		Address string `json:"address"`
	}
	require.NoError(t, fc.Call(ctx, "create_address", map[string]any{"account_index": 0}, &sub))
	subAddr, err := moneroaddr.Parse(sub.Address)
	require.NoError(t, err)
	funderKey := v.Keys[len(v.Keys)-1]
	v.Keys = append(v.Keys, vectorKey{ID: "funder-sub1", Address: sub.Address, ViewKey: funderKey.ViewKey,
		SpendKey: hex.EncodeToString(subAddr.PublicSpendKey[:])})

	height, err := chain.Height(ctx)
	require.NoError(t, err)
	_, err = fc.Refresh(ctx, walletrpc.RefreshRequest{})
	require.NoError(t, err)
	why := map[string]string{}
	pay := func(reason string, unlock uint64, dsts ...walletrpc.Destination) string {
		res, err := fc.Transfer(ctx, walletrpc.TransferRequest{Destinations: dsts, UnlockTime: unlock})
		require.NoError(t, err, reason)
		why[res.TxHash] = reason
		return res.TxHash
	}
	hashes := []string{
		pay("three outputs to recv1 in one tx", 0,
			walletrpc.Destination{Amount: 1_100_000_000_000, Address: addr["recv1"]},
			walletrpc.Destination{Amount: 2_200_000_000_000, Address: addr["recv1"]},
			walletrpc.Destination{Amount: 3_300_000_000_000, Address: addr["recv1"]}),
		pay("recv1 and recv2 paid in one tx", 0,
			walletrpc.Destination{Amount: 500_000_000_000, Address: addr["recv1"]},
			walletrpc.Destination{Amount: 700_000_000_000, Address: addr["recv2"]}),
		pay("recv2 and a funder subaddress in one tx: additional tx keys", 0,
			walletrpc.Destination{Amount: 250_000_000_000, Address: addr["recv2"]},
			walletrpc.Destination{Amount: 100_000_000_000, Address: sub.Address}),
	}
	// A time-locked payment: since 0.18.3.4 transfer refuses a non-zero unlock_time, so it
	// is the coinbase of the first block mined below (unlock_time = height + 60). The
	// recorded vectors (testdata) keep 0.18.0.0's time-locked transfer.
	_, err = fc.Transfer(ctx, walletrpc.TransferRequest{Destinations: []walletrpc.Destination{{Amount: 300_000_000_000, Address: addr["recv1"]}}, UnlockTime: height + 30})
	code, _ := walletrpc.Code(err)
	require.Equal(t, walletrpc.CodeNonzeroUnlockTime, code, "a time-locked transfer: %v", err)

	// In the pool: the scanner's totals per (wallet, tx) equal the wallets' pool entries.
	pool := getTransactions(ctx, t, chain.Daemon.URL, hashes, true)
	s, err := NewScanner(v.keys(t))
	require.NoError(t, err)
	poolRes, err := s.ScanTxs(parseAll(t, pool), 2)
	require.NoError(t, err)
	require.Empty(t, poolRes.Rejected)
	for _, id := range []string{"recv1", "recv2", "decoy"} {
		require.NoError(t, pc.OpenWallet(ctx, walletrpc.OpenWalletRequest{Filename: id}))
		_, err := pc.Refresh(ctx, walletrpc.RefreshRequest{})
		require.NoError(t, err)
		got, err := pc.GetTransfers(ctx, walletrpc.GetTransfersRequest{Pool: true})
		require.NoError(t, err)
		walletSums := map[string]uint64{}
		for _, tr := range got.Pool {
			walletSums[tr.TxID] += tr.Amount
		}
		assert.Equal(t, walletSums, sumsFor(poolRes.Matches, id), "%s: pool", id)
	}

	// Mined: every output each wallet lists in incoming_transfers, one by one.
	coinbase, err := chain.PayTimeLocked(ctx, addr["recv1"])
	require.NoError(t, err)
	require.Equal(t, height, coinbase.Height)
	require.NoError(t, chain.Mine(ctx, 1))
	v.Txs = getTransactions(ctx, t, chain.Daemon.URL, hashes, false)
	for i := range v.Txs {
		v.Txs[i].Why = why[v.Txs[i].Hash]
	}
	for h := height; h < height+2; h++ {
		var b struct {
			JSON        string `json:"json"`
			MinerTxHash string `json:"miner_tx_hash"`
		}
		require.NoError(t, chain.RPC.Call(ctx, "get_block", map[string]any{"height": h}, &b))
		v.Blocks = append(v.Blocks, vectorBlock{Height: h, MinerTxHash: b.MinerTxHash, JSON: b.JSON})
	}
	txs := v.parse(t)
	byHash := map[string]*Tx{}
	for _, tx := range txs {
		byHash[tx.Hash] = tx
	}
	unlock := unlockTimes(ctx, t, fc, height)
	require.NoError(t, pc.OpenWallet(ctx, walletrpc.OpenWalletRequest{Filename: "recv1"}))
	maps.Copy(unlock, unlockTimes(ctx, t, pc, height)) // the coinbase, as recv1 reports it
	require.Equal(t, coinbase.UnlockTime, unlock[coinbase.TxID], "recv1 lists its coinbase with its unlock_time")
	for _, id := range []string{"recv1", "recv2", "decoy", "funder"} {
		c := fc
		if payee[id] {
			c = pc
			require.NoError(t, pc.OpenWallet(ctx, walletrpc.OpenWalletRequest{Filename: id}))
		}
		_, err := c.Refresh(ctx, walletrpc.RefreshRequest{})
		require.NoError(t, err)
		for _, in := range incomingTransfers(ctx, t, c) {
			tx := byHash[in.TxHash]
			if tx == nil {
				continue // an older coinbase
			}
			key := id
			if in.SubaddrIndex.Minor != 0 {
				require.Equal(t, subaddrIndexOne, in.SubaddrIndex, "only funder-sub1 is a subaddress")
				key = "funder-sub1"
			}
			e := vectorExpected{Key: key, TxHash: in.TxHash, OutputKey: in.PubKey, Amount: in.Amount, OutputIndex: -1}
			for i, o := range tx.Outputs {
				if hex.EncodeToString(o.Key[:]) == in.PubKey {
					e.OutputIndex = i
				}
			}
			ut, ok := unlock[in.TxHash]
			require.True(t, ok, "funder's or recv1's transfers list %s", in.TxHash)
			e.UnlockTime = ut
			v.Expected = append(v.Expected, e)
		}
	}
	count := map[string]int{}
	for _, e := range v.Expected {
		count[e.Key]++
	}
	// 3 + 1 outputs and a coinbase to recv1, 1 + 1 to recv2, one to the subaddress,
	// the second block's coinbase and change to the funder.
	assert.Equal(t, 5, count["recv1"])
	assert.Equal(t, 2, count["recv2"])
	assert.Equal(t, 1, count["funder-sub1"])
	assert.Zero(t, count["decoy"])
	assert.GreaterOrEqual(t, count["funder"], 1+len(hashes))
	checkVectors(t, v)
	if *updateVectors && !t.Failed() {
		writeVectors(t, v)
	}
}

// moneroVersion names the monerod and wallet-rpc versions for the record.
func moneroVersion(ctx context.Context, t *testing.T, chain *devstack.Chain, c *walletrpc.Client) string {
	t.Helper()
	info, err := chain.RPC.GetInfo(ctx)
	require.NoError(t, err)
	got, err := c.GetVersion(ctx)
	require.NoError(t, err)
	return fmt.Sprintf("monerod %s, monero-wallet-rpc RPC version %d.%d", info.Version, got.Version>>16, got.Version&0xffff)
}

// walletKey reads the open wallet's address and private view key.
func walletKey(ctx context.Context, t *testing.T, c *walletrpc.Client, id string) vectorKey {
	t.Helper()
	a, err := c.GetAddress(ctx, walletrpc.GetAddressRequest{})
	require.NoError(t, err)
	var q struct {
		Key string `json:"key"`
	}
	require.NoError(t, c.Call(ctx, "query_key", map[string]any{"key_type": "view_key"}, &q))
	parsed, err := moneroaddr.Parse(a.Address)
	require.NoError(t, err)
	return vectorKey{ID: id, Address: a.Address, ViewKey: q.Key, SpendKey: hex.EncodeToString(parsed.PublicSpendKey[:])}
}

// getTransactions fetches txs from monerod's /get_transactions as JSON.
func getTransactions(ctx context.Context, t *testing.T, daemonURL string, hashes []string, inPool bool) []vectorTx {
	t.Helper()
	body, err := json.Marshal(map[string]any{"txs_hashes": hashes, "decode_as_json": true})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, daemonURL+"/get_transactions", bytes.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	var res struct {
		Status string `json:"status"`
		Txs    []struct {
			TxHash string `json:"tx_hash"`
			AsJSON string `json:"as_json"`
			InPool bool   `json:"in_pool"`
		} `json:"txs"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&res))
	require.Equal(t, "OK", res.Status)
	require.Len(t, res.Txs, len(hashes))
	out := make([]vectorTx, len(res.Txs))
	for i, tx := range res.Txs {
		require.Equal(t, inPool, tx.InPool, tx.TxHash)
		out[i] = vectorTx{Hash: tx.TxHash, AsJSON: tx.AsJSON}
	}
	return out
}

// parseAll parses fetched transactions.
func parseAll(t *testing.T, raw []vectorTx) []*Tx {
	t.Helper()
	txs := make([]*Tx, len(raw))
	for i, r := range raw {
		var err error
		txs[i], err = ParseTx(r.Hash, []byte(r.AsJSON))
		require.NoError(t, err)
	}
	return txs
}

// sumsFor totals a key's matches per transaction.
func sumsFor(ms []Match, id string) map[string]uint64 {
	out := map[string]uint64{}
	for _, m := range ms {
		if m.KeyID == id {
			out[m.TxHash] += m.Amount
		}
	}
	return out
}

// subaddrIndexOne is the funder's first subaddress, (0, 1).
var subaddrIndexOne = walletrpc.SubaddressIndex{Major: 0, Minor: 1}

// incoming is one entry of incoming_transfers.
type incoming struct {
	Amount       uint64                    `json:"amount"`
	TxHash       string                    `json:"tx_hash"`
	PubKey       string                    `json:"pubkey"`
	SubaddrIndex walletrpc.SubaddressIndex `json:"subaddr_index"`
}

// incomingTransfers lists every output the open wallet owns, spent or not.
func incomingTransfers(ctx context.Context, t *testing.T, c *walletrpc.Client) []incoming {
	t.Helper()
	var res struct {
		Transfers []incoming `json:"transfers"`
	}
	require.NoError(t, c.Call(ctx, "incoming_transfers", map[string]any{"transfer_type": "all"}, &res))
	return res.Transfers
}

// unlockTimes maps every transaction the open wallet (the funder's, recv1's) sent, received
// or mined from height on to its unlock_time, as the wallet reports it.
func unlockTimes(ctx context.Context, t *testing.T, fc *walletrpc.Client, height uint64) map[string]uint64 {
	t.Helper()
	_, err := fc.Refresh(ctx, walletrpc.RefreshRequest{})
	require.NoError(t, err)
	got, err := fc.GetTransfers(ctx, walletrpc.GetTransfersRequest{In: true, Out: true, FilterByHeight: true, MinHeight: height - 1})
	require.NoError(t, err)
	out := map[string]uint64{}
	for _, tr := range append(got.In, got.Out...) {
		out[tr.TxID] = tr.UnlockTime
	}
	return out
}
