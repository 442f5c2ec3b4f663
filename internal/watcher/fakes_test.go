package watcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// vectors are the transactions and keys recorded from a real regtest chain by the scan
// package (internal/scan/testdata/regtest.json), with what wallet-rpc reported for them.
type vectors struct {
	Keys []struct {
		ID      string `json:"id"`
		Address string `json:"address"`
		ViewKey string `json:"view_key"`
	} `json:"keys"`
	Txs []struct {
		Hash   string `json:"hash"`
		AsJSON string `json:"as_json"`
	} `json:"txs"`
	Blocks []struct {
		Height      uint64 `json:"height"`
		MinerTxHash string `json:"miner_tx_hash"`
		JSON        string `json:"json"`
	} `json:"blocks"`
	Expected []struct {
		Key         string `json:"key"`
		TxHash      string `json:"tx_hash"`
		OutputIndex int    `json:"output_index"`
		Amount      uint64 `json:"amount"`
	} `json:"expected"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("../scan/testdata/regtest.json")
	require.NoError(t, err)
	var v vectors
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

// watch returns the registration of a recorded key.
func (v vectors) watch(t *testing.T, id string, from uint64) store.Watch {
	t.Helper()
	for _, k := range v.Keys {
		if k.ID == id {
			b, err := hex.DecodeString(k.ViewKey)
			require.NoError(t, err)
			w := store.Watch{EscrowID: id, Address: k.Address, FromHeight: from}
			copy(w.ViewKey[:], b)
			return w
		}
	}
	t.Fatalf("no key %s in the vectors", id)
	return store.Watch{}
}

// fakeBlock is one block of the fake chain.
type fakeBlock struct {
	hash, prev, minerHash, json string
	txs                         []string
}

// fakeDaemon serves a chain and a pool built from the vectors, as monerod's RPC does.
type fakeDaemon struct {
	mu     sync.Mutex
	blocks []fakeBlock
	pool   []string
	txs    map[string]string
	down   bool
	// failBlock makes get_block fail at those heights; onBlock runs (under the lock) before
	// a block is served, to change the chain between two reads.
	failBlock map[uint64]bool
	onBlock   func(h uint64)
	// fetched lists every transaction /get_transactions was asked for.
	fetched []string
	// gone marks the transactions monerod reports missed when they are in no block and not
	// in the pool (a followed payout dropped or reorged out).
	gone map[string]bool
}

// where says where the chain has h: in the pool, or in a block (its height).
func (f *fakeDaemon) where(h string) (map[string]any, bool) {
	if slices.Contains(f.pool, h) {
		return map[string]any{"in_pool": true}, true
	}
	for i, b := range f.blocks {
		if slices.Contains(b.txs, h) {
			return map[string]any{"block_height": i}, true
		}
	}
	return nil, false
}

func newFakeDaemon(t *testing.T, v vectors) (*fakeDaemon, *Daemon) {
	t.Helper()
	f := &fakeDaemon{txs: map[string]string{}}
	for _, x := range v.Txs {
		f.txs[x.Hash] = x.AsJSON
	}
	return newFakeDaemonServing(t, f)
}

// newFakeDaemonServing serves f over httptest.
func newFakeDaemonServing(t *testing.T, f *fakeDaemon) (*fakeDaemon, *Daemon) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, NewDaemon(srv.URL, 0)
}

// mine appends a block holding txs (taken out of the pool), with the recorded miner tx of
// the given vector block; tag varies its hash, as a different branch would.
func (f *fakeDaemon) mine(v vectors, miner int, tag string, txs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mineLocked(v, miner, tag, txs...)
}

// mineLocked is mine for a caller holding the lock (onBlock).
func (f *fakeDaemon) mineLocked(v vectors, miner int, tag string, txs ...string) {
	prev := ""
	if n := len(f.blocks); n > 0 {
		prev = f.blocks[n-1].hash
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", tag, len(f.blocks)))
	h := hex.EncodeToString(sum[:])
	f.blocks = append(f.blocks, fakeBlock{hash: h, prev: prev, minerHash: v.Blocks[miner].MinerTxHash, json: v.Blocks[miner].JSON, txs: txs})
	f.pool = slices.DeleteFunc(f.pool, func(p string) bool { return slices.Contains(txs, p) })
}

// pop removes the top n blocks, as monerod's pop_blocks does.
func (f *fakeDaemon) pop(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocks = f.blocks[:len(f.blocks)-n]
}

func (f *fakeDaemon) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var req struct {
		Method string `json:"method"`
		Params struct {
			Height uint64 `json:"height"`
		} `json:"params"`
		TxsHashes []string `json:"txs_hashes"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	switch {
	case r.URL.Path == "/json_rpc" && req.Method == "get_block_count":
		reply(map[string]any{"result": map[string]any{"count": len(f.blocks), "status": "OK"}})
	case r.URL.Path == "/json_rpc" && req.Method == "get_block":
		if f.onBlock != nil {
			f.onBlock(req.Params.Height)
		}
		if req.Params.Height >= uint64(len(f.blocks)) || f.failBlock[req.Params.Height] {
			reply(map[string]any{"error": map[string]any{"code": -2, "message": "too big height"}})
			return
		}
		b := f.blocks[req.Params.Height]
		reply(map[string]any{"result": map[string]any{
			"block_header": map[string]any{"hash": b.hash, "prev_hash": b.prev, "height": req.Params.Height},
			"json":         b.json, "miner_tx_hash": b.minerHash, "tx_hashes": b.txs, "status": "OK",
		}})
	case r.URL.Path == "/get_transactions":
		var txs []map[string]any
		var missed []string
		f.fetched = append(f.fetched, req.TxsHashes...)
		for _, h := range req.TxsHashes {
			where, ok := f.where(h)
			if !ok && f.gone[h] {
				missed = append(missed, h)
				continue
			}
			tx := map[string]any{"tx_hash": h, "as_json": f.txs[h]}
			maps.Copy(tx, where)
			txs = append(txs, tx)
		}
		reply(map[string]any{"txs": txs, "missed_tx": missed, "status": "OK"})
	case r.URL.Path == "/get_transaction_pool_hashes":
		reply(map[string]any{"tx_hashes": f.pool, "status": "OK"})
	default:
		http.NotFound(w, r)
	}
}

// memStore keeps the watcher's tables in memory (the PostgreSQL versions are tested in store).
type memStore struct {
	mu      sync.Mutex
	watches []store.Watch
	blocks  map[uint64]string
	// notices are the kept notices; backfilled maps an escrow to the height its past was
	// scanned from; failBackfill fails MarkBackfilled.
	notices      []store.Notice
	lastID       int64
	backfilled   map[string]uint64
	failBackfill bool
	// followed are the followed transactions (store.FollowPayout, store.FollowFunding);
	// failUnfollow fails UnfollowFunding.
	followed     []store.Followed
	failUnfollow bool
}

func (m *memStore) Watches(context.Context) ([]store.Watch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.watches), nil
}

func (m *memStore) ScannedBlocks(_ context.Context, n int) ([]store.ScannedBlock, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.ScannedBlock
	for h, hash := range m.blocks {
		out = append(out, store.ScannedBlock{Height: h, Hash: hash})
	}
	slices.SortFunc(out, func(a, b store.ScannedBlock) int { return int(b.Height) - int(a.Height) })
	return out[:min(n, len(out))], nil
}

func (m *memStore) RecordScannedWithNotices(ctx context.Context, b store.ScannedBlock, _ uint64, notices []store.Notice) error {
	m.mu.Lock()
	m.blocks[b.Height] = b.Hash
	m.mu.Unlock()
	return m.SaveNotices(ctx, notices)
}

func (m *memStore) ForgetScannedAbove(_ context.Context, h uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.blocks {
		if k > h {
			delete(m.blocks, k)
		}
	}
	return nil
}

func (m *memStore) SaveNotices(_ context.Context, notices []store.Notice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range notices {
		m.lastID++
		n.ID = m.lastID
		m.notices = append(m.notices, n)
	}
	return nil
}

func (m *memStore) Notices(_ context.Context, n int) ([]store.Notice, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.notices[:min(n, len(m.notices))]), nil
}

func (m *memStore) DeleteNotice(_ context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notices = slices.DeleteFunc(m.notices, func(n store.Notice) bool { return n.ID == id })
	return nil
}

func (m *memStore) PendingBackfills(context.Context) ([]store.Backfill, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Backfill
	for _, x := range m.watches {
		if from, ok := m.backfilled[x.EscrowID]; !ok || from > x.FromHeight {
			out = append(out, store.Backfill{EscrowID: x.EscrowID, Address: x.Address, FromHeight: x.FromHeight})
		}
	}
	return out, nil
}

func (m *memStore) MarkBackfilled(_ context.Context, done []store.Backfill) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failBackfill {
		return fmt.Errorf("database down")
	}
	for _, b := range done {
		m.backfilled[b.EscrowID] = b.FromHeight
	}
	return nil
}

func (m *memStore) FollowedTxs(context.Context) ([]store.Followed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.followed), nil
}

func (m *memStore) UnfollowFunding(_ context.Context, escrowID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failUnfollow {
		return fmt.Errorf("database down")
	}
	m.followed = slices.DeleteFunc(m.followed, func(f store.Followed) bool {
		return f.EscrowID == escrowID && f.Purpose == store.PurposeFunding
	})
	return nil
}

func (m *memStore) Lead(context.Context, string, time.Duration) (*store.Leadership, error) {
	return nil, nil
}

// notices collects what the watcher told the escrows.
type notices struct {
	mu   sync.Mutex
	got  []string
	fail bool
	// next holds the NextHeight of every pool sighting, in order.
	next []uint64
}

func (n *notices) notify(_ context.Context, escrowID string, s Seen) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail {
		return fmt.Errorf("temporal is down")
	}
	n.got = append(n.got, fmt.Sprintf("%s %s/%d %d h=%d pool=%t", escrowID, s.TxHash[:8], s.OutputIndex, s.Amount, s.Height, s.InPool))
	if s.InPool {
		n.next = append(n.next, s.NextHeight)
	}
	return nil
}

func (n *notices) take() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.got
	n.got = nil
	slices.Sort(out)
	return out
}
