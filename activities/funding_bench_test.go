package activities

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// BenchmarkFundingCheck measures what one funding check costs the wallet-rpc, in CPU
// time read from /proc: when the escrow's wallet is still open on its instance, and when
// the instance has to switch wallets first (every check of many escrows sharing one
// wallet-rpc). Run: go test -run XXX -bench FundingCheck -benchtime 10x ./activities
func BenchmarkFundingCheck(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := b.TempDir()
	d, err := devstack.StartMonerod(ctx, devstack.MonerodOptions{Dir: dir + "/monerod"})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Stop() //nolint:errcheck
	r, err := devstack.StartWalletRPC(ctx, devstack.WalletRPCOptions{
		Name: "bench", Dir: dir + "/w", DaemonAddress: d.Address, RegtestDaemon: true, ExtraArgs: []string{"--daemon-ssl", "disabled"},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Stop() //nolint:errcheck
	w, err := NewWallet(WalletConfig{Instance: "bench", RPC: walletrpc.New(walletrpc.Config{URL: r.URL}), Dir: r.Dir, Secret: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(w)
	for _, id := range []string{"bench-a", "bench-b"} {
		if _, err := env.ExecuteActivity(w.CreateWallet, WalletInput{EscrowID: id, Role: escrow.Arbiter}); err != nil {
			b.Fatal(err)
		}
	}
	for _, mode := range []string{"same-wallet", "switching-wallets"} {
		b.Run(mode, func(b *testing.B) {
			cpu0 := cpuSeconds(b, r.Proc.Pid())
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				id := "bench-a"
				if mode == "switching-wallets" && i%2 == 1 {
					id = "bench-b"
				}
				if _, err := env.ExecuteActivity(w.CheckFunding, FundingInput{EscrowID: id, Role: escrow.Arbiter, MinConfirmations: 10}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric((cpuSeconds(b, r.Proc.Pid())-cpu0)/float64(b.N), "wallet-rpc-cpu-s/op")
		})
	}
}

// cpuSeconds reads a process's user+system CPU time from /proc.
func cpuSeconds(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // clock ticks: USER_HZ is 100 on Linux
}
