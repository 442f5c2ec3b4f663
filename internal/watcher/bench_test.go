package watcher

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/edwards25519"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/scan"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// Mainnet's shape: a block every 120 s, about 30 transactions of 2 outputs each.
const (
	blockTime    = 120 * time.Second
	blocksPerHr  = 30
	txsPerBlock  = 30
	outsPerTx    = 2
	pollCapPerHr = 6 // today's poll: back-off capped at 10 min, once an escrow waits long
)

// cpuPerEscrowHour is what each side measured, for the ratio (set by the sub-benchmarks).
var cpuPerEscrowHour = map[string]float64{}

func randomScalar(b *testing.B) *edwards25519.Scalar {
	var buf [64]byte
	if _, err := rand.Read(buf[:]); err != nil {
		b.Fatal(err)
	}
	s, err := edwards25519.NewScalar().SetUniformBytes(buf[:])
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func randomPoint(b *testing.B) [32]byte {
	var p [32]byte
	copy(p[:], new(edwards25519.Point).ScalarBaseMult(randomScalar(b)).Bytes())
	return p
}

// mainnetBlock is a block of txsPerBlock RingCT transactions with outsPerTx view-tagged
// outputs each, paying no registered key: the common case, which is the whole cost.
func mainnetBlock(b *testing.B) []*scan.Tx {
	txs := make([]*scan.Tx, txsPerBlock)
	for i := range txs {
		r := randomPoint(b)
		tx := &scan.Tx{Hash: fmt.Sprintf("%064x", i), Version: 2, RCTType: 6, Extra: scan.ParseExtra(append([]byte{1}, r[:]...))}
		for range outsPerTx {
			var tag [1]byte
			_, _ = rand.Read(tag[:])
			tx.Outputs = append(tx.Outputs, scan.Output{Key: randomPoint(b), ViewTag: tag[0], HasViewTag: true})
			tx.ECDHAmounts = append(tx.ECDHAmounts, [8]byte{})
			tx.Commitments = append(tx.Commitments, randomPoint(b))
		}
		txs[i] = tx
	}
	return txs
}

// processCPU is this process's user and system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAwaitingEscrowHour measures, in one run, what watching escrows for payment costs
// per escrow and hour: the block watcher scanning mainnet-shaped blocks for 1,000 and 10,000
// escrows, against today's poll (a wallet-rpc funding check that switches wallets, at its
// 10-minute cap). Run: go test -run XXX -bench AwaitingEscrowHour -benchtime 3x ./internal/watcher
func BenchmarkAwaitingEscrowHour(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("watcher/escrows=%d", n), func(b *testing.B) { benchWatcher(b, n) })
	}
	b.Run("poll/switching-wallets", benchPoll)
	b.Run("poll-over-watcher/escrows=10000", func(b *testing.B) {
		w, p := cpuPerEscrowHour["watcher/10000"], cpuPerEscrowHour["poll"]
		if w == 0 || p == 0 {
			b.Skip("run the watcher and poll sub-benchmarks first (-bench AwaitingEscrowHour)")
		}
		for range b.N {
		}
		b.ReportMetric(p/w, "x-less-cpu")
	})
}

func benchWatcher(b *testing.B, n int) {
	keys := make([]scan.Key, n)
	for i := range keys {
		keys[i] = scan.Key{ID: strconv.Itoa(i), Spend: randomPoint(b)}
		copy(keys[i].View[:], randomScalar(b).Bytes())
	}
	sc, err := scan.NewScanner(keys)
	if err != nil {
		b.Fatal(err)
	}
	txs := mainnetBlock(b)
	b.ResetTimer()
	cpu0 := processCPU()
	for range b.N {
		if _, err := sc.ScanTxs(txs, runtime.NumCPU()); err != nil {
			b.Fatal(err)
		}
	}
	perBlock := (processCPU() - cpu0).Seconds() / float64(b.N)
	b.ReportMetric(perBlock, "cpu-s/block")
	b.ReportMetric(perBlock/blockTime.Seconds(), "cores")
	perEscrowHour := perBlock * blocksPerHr / float64(n)
	b.ReportMetric(perEscrowHour, "cpu-s/escrow-hour")
	cpuPerEscrowHour[fmt.Sprintf("watcher/%d", n)] = perEscrowHour
}

// benchPoll times today's funding check on a real wallet-rpc: open_wallet (the instance
// had another escrow's wallet open), refresh, get_transfers, alternating two wallets.
func benchPoll(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := b.TempDir()
	d, err := devstack.StartMonerod(ctx, devstack.MonerodOptions{Dir: dir + "/monerod"})
	if err != nil {
		b.Fatalf("start monerod (make tools installs it): %v", err)
	}
	defer func() { _ = d.Stop() }()
	r, err := devstack.StartWalletRPC(ctx, devstack.WalletRPCOptions{Name: "poll", Dir: dir + "/w", DaemonAddress: d.Address, RegtestDaemon: true})
	if err != nil {
		b.Fatalf("start wallet-rpc: %v", err)
	}
	defer func() { _ = r.Stop() }()
	c := walletrpc.New(walletrpc.Config{URL: r.URL})
	names := []string{"a", "b"}
	for _, w := range names {
		if err := c.CreateWallet(ctx, walletrpc.CreateWalletRequest{Filename: w, Password: "p", Language: "English"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	cpu0 := walletRPCCPU(b, r.Proc.Pid())
	for i := range b.N {
		if err := c.OpenWallet(ctx, walletrpc.OpenWalletRequest{Filename: names[i%2], Password: "p"}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.GetTransfers(ctx, walletrpc.GetTransfersRequest{In: true, Pool: true}); err != nil {
			b.Fatal(err)
		}
	}
	perCheck := walletRPCCPU(b, r.Proc.Pid()) - cpu0
	perCheck /= float64(b.N)
	b.ReportMetric(perCheck, "wallet-rpc-cpu-s/check")
	b.ReportMetric(perCheck*pollCapPerHr, "cpu-s/escrow-hour")
	cpuPerEscrowHour["poll"] = perCheck * pollCapPerHr
}

// walletRPCCPU reads a process's user+system CPU seconds from /proc.
func walletRPCCPU(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseFloat(fields[11], 64)
	st, _ := strconv.ParseFloat(fields[12], 64)
	return (u + st) / 100
}
