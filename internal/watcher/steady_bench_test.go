package watcher

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"

	"filippo.io/edwards25519"

	"github.com/xmr-escrow/xmr-escrow/internal/scan"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/moneroaddr"
)

// Issue 23 item 4: the watcher end to end (fake monerod over HTTP, JSON as monerod serves it,
// the in-memory store), not only the scanner.
const (
	// passesPerBlock is how many passes the leader makes per block at its default 2-s poll.
	passesPerBlock = 60
	// hostileOuts is the most outputs a RingCT transaction may have.
	hostileOuts = 16
)

// benchVectors reads the recorded regtest chain (loadVectors is for tests).
func benchVectors(b *testing.B) vectors {
	raw, err := os.ReadFile("../scan/testdata/regtest.json")
	if err != nil {
		b.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		b.Fatal(err)
	}
	return v
}

// txFactory builds monerod-shaped as_json for synthetic transactions: a recorded 2-output
// RingCT transaction (its inputs and prunable signatures, ring 16, about 6 kB of JSON) with
// fresh outputs, tx keys and commitments, paying none of the watched escrows.
type txFactory struct {
	template map[string]json.RawMessage
	n        int
}

func newTxFactory(b *testing.B, v vectors) *txFactory {
	for _, t := range v.Txs {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(t.AsJSON), &m); err != nil {
			b.Fatal(err)
		}
		var vout []json.RawMessage
		_ = json.Unmarshal(m["vout"], &vout)
		if len(vout) == 2 {
			return &txFactory{template: m}
		}
	}
	b.Fatal("no 2-output transaction in the vectors")
	return nil
}

func hexOf(p [32]byte) string { return hex.EncodeToString(p[:]) }

// tx returns a new transaction's hash and as_json: outs outputs, and for a hostile one the
// extra of internal/scan's hostileTx (its tx key three times, a garbage key twice, a torsion
// point, three other keys, and twice as many additional keys as outputs).
func (f *txFactory) tx(b *testing.B, outs int, hostile bool) (string, string) {
	f.n++
	hash := fmt.Sprintf("%064x", 1<<40+f.n)
	type target struct {
		TaggedKey struct {
			Key     string `json:"key"`
			ViewTag string `json:"view_tag"`
		} `json:"tagged_key"`
	}
	type vout struct {
		Amount uint64 `json:"amount"`
		Target target `json:"target"`
	}
	var vo []vout
	var ecdh []map[string]string
	var outPk []string
	for range outs {
		var t target
		tag := randomPoint(b)
		t.TaggedKey.Key, t.TaggedKey.ViewTag = hexOf(randomPoint(b)), hex.EncodeToString(tag[:1])
		vo = append(vo, vout{Target: t})
		ecdh = append(ecdh, map[string]string{"amount": hex.EncodeToString(tag[8:16])})
		outPk = append(outPk, hexOf(randomPoint(b)))
	}
	r := randomPoint(b)
	extra := append([]byte{1}, r[:]...)
	if hostile {
		garbage := [32]byte{0xed}
		for i := 1; i < 31; i++ {
			garbage[i] = 0xff
		}
		garbage[31] = 0x7f
		torsion, _ := hex.DecodeString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
		for _, k := range [][]byte{r[:], garbage[:], torsion, nil, r[:], nil, nil, garbage[:]} {
			if k == nil {
				p := randomPoint(b)
				k = p[:]
			}
			extra = append(append(extra, 1), k...)
		}
		extra = append(extra, 4, 2*hostileOuts)
		for range 2 * hostileOuts {
			p := randomPoint(b)
			extra = append(extra, p[:]...)
		}
	}
	ints := make([]int, len(extra))
	for i, c := range extra {
		ints[i] = int(c)
	}
	var rct map[string]json.RawMessage
	if err := json.Unmarshal(f.template["rct_signatures"], &rct); err != nil {
		b.Fatal(err)
	}
	m := map[string]any{}
	for k, val := range f.template {
		m[k] = val
	}
	rct["ecdhInfo"], _ = json.Marshal(ecdh)
	rct["outPk"], _ = json.Marshal(outPk)
	m["vout"], m["extra"], m["rct_signatures"] = vo, ints, rct
	js, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	return hash, string(js)
}

// benchWatches registers n escrows: random multisig-shaped addresses (a spend key, a view
// key and its public key) from height `from`, their pasts already scanned.
func benchWatches(b *testing.B, st *memStore, prefix string, n int, from uint64) {
	for i := range n {
		view := randomScalar(b)
		a := moneroaddr.Address{Network: moneroaddr.Mainnet, Kind: moneroaddr.Standard, PublicSpendKey: randomPoint(b)}
		copy(a.PublicViewKey[:], new(edwards25519.Point).ScalarBaseMult(view).Bytes())
		addr, err := moneroaddr.Encode(a)
		if err != nil {
			b.Fatal(err)
		}
		w := store.Watch{EscrowID: prefix + strconv.Itoa(i), Address: addr, FromHeight: from}
		copy(w.ViewKey[:], view.Bytes())
		st.watches = append(st.watches, w)
		st.backfilled[w.EscrowID] = from
	}
}

// benchChain is a fake monerod of 300 blocks with the recorded miner transaction, and a
// watcher over st that has made its first pass.
func benchChain(b *testing.B, v vectors, st *memStore) (*fakeDaemon, *Watcher) {
	f := &fakeDaemon{txs: map[string]string{}}
	for range 300 {
		f.mine(v, 0, "")
	}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	b.Cleanup(srv.Close)
	w := New(Config{Store: st, Daemon: NewDaemon(srv.URL, 0), Notify: func(context.Context, string, Seen) error { return nil }})
	if err := w.Pass(context.Background()); err != nil {
		b.Fatal(err)
	}
	return f, w
}

// addTxs puts n new transactions in the fake daemon; in the pool when pool is set.
func addTxs(b *testing.B, f *fakeDaemon, fac *txFactory, n, outs int, hostile, pool bool) []string {
	hashes := make([]string, n)
	for i := range hashes {
		h, js := fac.tx(b, outs, hostile)
		f.mu.Lock()
		f.txs[h] = js
		if pool {
			f.pool = append(f.pool, h)
		}
		f.mu.Unlock()
		hashes[i] = h
	}
	return hashes
}

// benchPass makes one pass and returns its CPU; every synthetic transaction must be read.
func benchPass(b *testing.B, w *Watcher) float64 {
	c0 := processCPU()
	if err := w.Pass(context.Background()); err != nil {
		b.Fatal(err)
	}
	cpu := (processCPU() - c0).Seconds()
	if s := w.Stats(); s.UnreadTxs != 0 {
		b.Fatalf("%d transactions could not be read", s.UnreadTxs)
	}
	return cpu
}

// BenchmarkSteadyStateBlock is the watcher's steady state for 10,000 awaiting escrows and
// 100,000 finished ones in their late-money grace (110,000 keys): per 120-s block, 45 normal
// 2-output transactions arrive in the pool (read and scanned there with every key), then are
// mined (the block reuses the pool's matches and scans its miner transaction), and the other
// passes of the block (a 2-s poll) find nothing new. It reports the CPU per block, all passes
// counted, and the share of one core (CPU per block / 120 s). Run:
//
//	go test -run XXX -bench SteadyStateBlock -benchtime 2x -timeout 60m ./internal/watcher
func BenchmarkSteadyStateBlock(b *testing.B) {
	const awaiting, finished, txs = 10_000, 100_000, 45
	v := benchVectors(b)
	st := &memStore{blocks: map[uint64]string{}, backfilled: map[string]uint64{}}
	benchWatches(b, st, "awaiting-", awaiting, 299)
	benchWatches(b, st, "finished-", finished, 299)
	f, w := benchChain(b, v, st)
	fac := newTxFactory(b, v)
	var pool, block, idle float64
	b.ResetTimer()
	for range b.N {
		hashes := addTxs(b, f, fac, txs, 2, false, true)
		pool += benchPass(b, w)
		f.mine(v, 0, "", hashes...)
		block += benchPass(b, w)
		idle += benchPass(b, w)
	}
	n := float64(b.N)
	pool, block, idle = pool/n, block/n, idle/n
	perBlock := pool + block + (passesPerBlock-2)*idle
	b.ReportMetric(pool, "pool-pass-cpu-s")
	b.ReportMetric(block, "block-pass-cpu-s")
	b.ReportMetric(idle, "idle-pass-cpu-s")
	b.ReportMetric(perBlock, "cpu-s/block")
	b.ReportMetric(perBlock/blockTime.Seconds(), "cores")
}

// BenchmarkHostilePass is the cost case, end to end: 10,000 escrows, a pool of 500
// hostile 16-output transactions already read, one new registration per pass (its key
// scanned against the pool, the scanner rebuilt), and in the "block" case a block of 30
// hostile transactions never seen in the pool, scanned with every key in that pass. Run:
//
//	go test -run XXX -bench HostilePass -benchtime 3x -timeout 30m ./internal/watcher
func BenchmarkHostilePass(b *testing.B) {
	const escrows, poolTxs, blockTxs = 10_000, 500, 30
	for _, withBlock := range []bool{false, true} {
		name := "registration"
		if withBlock {
			name = "registration+hostile-block"
		}
		b.Run(name, func(b *testing.B) {
			v := benchVectors(b)
			st := &memStore{blocks: map[uint64]string{}, backfilled: map[string]uint64{}}
			benchWatches(b, st, "escrow-", escrows, 299)
			f, w := benchChain(b, v, st)
			fac := newTxFactory(b, v)
			// The pool as a steady state holds it: read and scanned by earlier passes (scanning
			// 500 hostile transactions with every key would cost minutes of setup).
			for _, h := range addTxs(b, f, fac, poolTxs, hostileOuts, true, true) {
				tx, err := scan.ParseTx(h, []byte(f.txs[h]))
				if err != nil {
					b.Fatal(err)
				}
				w.seenPool[h] = &poolTx{tx: tx}
			}
			var cpu float64
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				st.mu.Lock()
				top := uint64(len(f.blocks))
				st.mu.Unlock()
				benchWatches(b, st, fmt.Sprintf("new-%d-", i), 1, top)
				if withBlock {
					f.mine(v, 0, "", addTxs(b, f, fac, blockTxs, hostileOuts, true, false)...)
				}
				b.StartTimer()
				cpu += benchPass(b, w)
			}
			b.ReportMetric(cpu/float64(b.N), "cpu-s/pass")
		})
	}
}
