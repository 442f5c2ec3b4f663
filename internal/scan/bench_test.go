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
