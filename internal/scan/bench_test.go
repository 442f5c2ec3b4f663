//go:build unix

package scan

import (
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"filippo.io/edwards25519"
)

// blockInterval is Monero's target block time: the budget a scan shares with
// everything else the worker does.
const blockInterval = 120 * time.Second

// benchKeys are generated once: 10,000 wallets take a moment to make.
var benchKeys = sync.OnceValue(func() []*testWallet {
	ws := make([]*testWallet, 10_000)
	for i := range ws {
		ws[i] = newTestWallet(fmt.Sprintf("escrow-%d", i))
	}
	return ws
})

// mainnetBlock is a block shaped like mainnet's: 30 transactions of two
// tagged outputs each, random tx keys and output keys, and one output that
// pays payee.
func mainnetBlock(payee *testWallet) []*Tx {
	txs := make([]*Tx, 30)
	for i := range txs {
		outs := []synthOut{{}, {}}
		if i == 17 {
			outs[1] = synthOut{to: payee, amount: 1_234_567_890}
		}
		txs[i] = synthTx(fmt.Sprintf("tx-%d", i), randScalar(), RCTTypeBulletproofPlus, outs...)
	}
	return txs
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScanBlock scans a mainnet-shaped block for 1,000 and 10,000
// registered keys on every core (GOMAXPROCS). Besides wall time it reports
// the CPU time per block and the fraction of one core that costs at one
// block every 120 s.
func BenchmarkScanBlock(b *testing.B) {
	wallets := benchKeys()
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			s, err := NewScanner(keysOf(wallets[:n]...))
			if err != nil {
				b.Fatal(err)
			}
			txs := mainnetBlock(wallets[n/2])
			workers := runtime.GOMAXPROCS(0)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime(b)
			for b.Loop() {
				res, err := s.ScanTxs(txs, workers)
				if err != nil || len(res.Matches) != 1 || len(res.Rejected) != 0 {
					b.Fatalf("want 1 match, got %+v, %v", res, err)
				}
			}
			cpu := (cpuTime(b) - cpu0) / time.Duration(b.N)
			b.ReportMetric(cpu.Seconds(), "cpu-s/block")
			b.ReportMetric(cpu.Seconds()/blockInterval.Seconds(), "cores@120s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(n*len(txs)), "cpu-ns/key/tx")
		})
	}
}

// BenchmarkDerivation is one derivation 8·(a·R) encoded to bytes, the
// per-(key, tx) cost that dominates a scan, computed four ways.
func BenchmarkDerivation(b *testing.B) {
	w := newTestWallet("w")
	k := mustPrepare(b, w.key)
	var R [32]byte
	copy(R[:], new(edwards25519.Point).ScalarBaseMult(randScalar()).Bytes())
	plain, _ := newTxKey(&R)
	table := plain
	table.build(true)
	wk := newWorker()
	var d [32]byte
	b.Run("table-consttime", func(b *testing.B) {
		for b.Loop() {
			wk.derive(&d, &table, k)
		}
	})
	b.Run("scalarmult-consttime", func(b *testing.B) {
		for b.Loop() {
			wk.derive(&d, &plain, k)
		}
	})
	b.Run("scalarmult-vartime", func(b *testing.B) {
		// For comparison only: variable time in the secret view key.
		zero := edwards25519.NewScalar()
		for b.Loop() {
			wk.d.VarTimeDoubleScalarBaseMult(&k.view, &plain.r8, zero)
			encodePoint(&d, &wk.d)
		}
	})
	b.Run("build-table", func(b *testing.B) {
		for b.Loop() {
			newPointTable(&plain.r8)
		}
	})
}

// BenchmarkScanKeyTx is everything one key costs on one two-output tx: the
// derivation and two view tags.
func BenchmarkScanKeyTx(b *testing.B) {
	w := newTestWallet("w")
	keys := []preparedKey{*mustPrepare(b, w.key)}
	s := &Scanner{keys: make([]preparedKey, minTableKeys)}
	pt := s.prepare(synthTx("t", randScalar(), RCTTypeBulletproofPlus, synthOut{}, synthOut{}))
	wk := newWorker()
	b.ReportAllocs()
	for b.Loop() {
		wk.scan(pt, 0, keys, 0)
	}
}

// mustPrepare decodes one key.
func mustPrepare(b *testing.B, k Key) *preparedKey {
	pk, err := prepareKeys([]Key{k})
	if err != nil {
		b.Fatal(err)
	}
	return &pk[0]
}

// txCost is what one kind of transaction cost per transaction in
// BenchmarkHostileTx, for the ratios (set by its sub-benchmarks).
var txCost = map[string]stats{}

// txCPU is the CPU time per transaction each sub-benchmark measured.
var txCPU = map[string]float64{}

// BenchmarkHostileTx compares, in one run, what a normal transaction and a
// hostile one cost 10,000 registered escrows (main addresses): a block of 30
// two-output transactions against a block of 30 of hostileTx's 16-output
// transactions (the tx key repeated, garbage, torsion and other keys, twice
// as many additional keys as outputs), each paying one escrow. The third
// case registers the same keys as subaddresses: what every escrow would pay
// if additional keys were derived for all. The pool cases rescan a pool of
// 500 transactions for one escrow, as a registration change does: there the
// key-independent work (decoding, identity checks) weighs most. Run:
// go test -run XXX -bench HostileTx -benchtime 3x ./internal/scan
func BenchmarkHostileTx(b *testing.B) {
	wallets := benchKeys()
	payee := wallets[len(wallets)/2]
	block := func(n int, build func(i int, to synthOut) *Tx, to synthOut) []*Tx {
		txs := make([]*Tx, n)
		for i := range txs {
			pay := synthOut{}
			if i == n/2 {
				pay = to
			}
			txs[i] = build(i, pay)
		}
		return txs
	}
	normal := func(i int, pay synthOut) *Tx {
		return synthTx(fmt.Sprintf("normal-%d", i), randScalar(), RCTTypeBulletproofPlus, synthOut{}, pay)
	}
	hostile := func(i int, pay synthOut) *Tx {
		return hostileTx(fmt.Sprintf("hostile-%d", i), randScalar(), synthOut{}, synthOut{}, synthOut{}, synthOut{}, synthOut{}, pay)
	}
	subKeys := keysOf(wallets...)
	for i := range subKeys {
		subKeys[i].Subaddress = true
	}
	for _, c := range []struct {
		name string
		keys []Key
		txs  []*Tx
	}{
		{"normal", keysOf(wallets...), block(30, normal, synthOut{to: payee, amount: 1})},
		{"hostile-16-outputs", keysOf(wallets...), block(30, hostile, synthOut{to: payee, amount: 1})},
		{"hostile-16-outputs/keys-as-subaddresses", subKeys, block(2, hostile, synthOut{to: payee, amount: 1, r: randScalar()})},
		{"pool-500-one-key/normal", keysOf(payee), block(500, normal, synthOut{to: payee, amount: 1})},
		{"pool-500-one-key/hostile-16-outputs", keysOf(payee), block(500, hostile, synthOut{to: payee, amount: 1})},
	} {
		b.Run(c.name, func(b *testing.B) { benchTxs(b, c.name, c.keys, c.txs) })
	}
	for _, prefix := range []string{"", "pool-500-one-key/"} {
		b.Run(prefix+"hostile-over-normal", func(b *testing.B) {
			n, h := txCost[prefix+"normal"], txCost[prefix+"hostile-16-outputs"]
			if n.derivations == 0 || h.derivations == 0 {
				b.Skip("run the normal and hostile sub-benchmarks first (-bench HostileTx)")
			}
			for b.Loop() {
			}
			b.ReportMetric(txCPU[prefix+"hostile-16-outputs"]/txCPU[prefix+"normal"], "x-cpu")
			b.ReportMetric(float64(h.derivations)/float64(n.derivations), "x-derivations")
		})
	}
}

// benchTxs scans txs for keys on every core and reports, per transaction,
// the CPU time for all keys and the derivations and view tags per key.
func benchTxs(b *testing.B, name string, keys []Key, txs []*Tx) {
	s, err := NewScanner(keys)
	if err != nil {
		b.Fatal(err)
	}
	workers := runtime.GOMAXPROCS(0)
	var st stats
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for b.Loop() {
		var res Result
		res, st, err = s.scanTxs(txs, workers)
		if err != nil || len(res.Matches) != 1 || len(res.Rejected) != 0 {
			b.Fatalf("want 1 match, got %+v, %v", res, err)
		}
	}
	perTx := (cpuTime(b) - cpu0).Seconds() / float64(b.N*len(txs))
	perKeyTx := float64(len(keys) * len(txs))
	txCPU[name] = perTx
	txCost[name] = stats{derivations: st.derivations / len(txs), viewTags: st.viewTags / len(txs)}
	b.ReportMetric(perTx*1e3, "cpu-ms/tx")
	b.ReportMetric(float64(st.derivations)/perKeyTx, "derivations/key/tx")
	b.ReportMetric(float64(st.viewTags)/perKeyTx, "viewtags/key/tx")
}
