package watcher

import (
	"context"
	"testing"
	"time"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// BenchmarkLateCheckCPU measures, in one run on a real wallet-rpc, the CPU of one late-money
// check as CheckFunding makes it (refresh, get_height, get_transfers with the pool): on a
// shared instance that had another escrow's wallet open (open_wallet first, with the key
// cache), and on the wallet already open. Issue 23 item 4 multiplies it by the checks a grace
// schedules (TestWalletChecksPerGrace in workflows). Run:
//
//	go test -run XXX -bench LateCheckCPU -benchtime 20x ./internal/watcher
func BenchmarkLateCheckCPU(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := b.TempDir()
	d, err := devstack.StartMonerod(ctx, devstack.MonerodOptions{Dir: dir + "/monerod"})
	if err != nil {
		b.Fatalf("start monerod (make tools installs it): %v", err)
	}
	defer func() { _ = d.Stop() }()
	r, err := devstack.StartWalletRPC(ctx, devstack.WalletRPCOptions{Name: "late", Dir: dir + "/w", DaemonAddress: d.Address, RegtestDaemon: true})
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
	check := func() {
		if _, err := c.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.GetHeight(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := c.GetTransfers(ctx, walletrpc.GetTransfersRequest{In: true, Pool: true}); err != nil {
			b.Fatal(err)
		}
	}
	perCheck := map[string]float64{}
	for _, open := range []bool{true, false} {
		name := "open-wallet"
		if !open {
			name = "wallet-already-open"
		}
		b.Run(name, func(b *testing.B) {
			cpu0 := walletRPCCPU(b, r.Proc.Pid())
			for i := range b.N {
				if open {
					if err := c.OpenWallet(ctx, walletrpc.OpenWalletRequest{Filename: names[i%2], Password: "p"}); err != nil {
						b.Fatal(err)
					}
				}
				check()
			}
			perCheck[name] = (walletRPCCPU(b, r.Proc.Pid()) - cpu0) / float64(b.N)
			b.ReportMetric(perCheck[name], "wallet-rpc-cpu-s/check")
		})
	}
	b.Run("open-over-already-open", func(b *testing.B) {
		for b.Loop() {
		}
		if perCheck["wallet-already-open"] > 0 {
			b.ReportMetric(perCheck["open-wallet"]/perCheck["wallet-already-open"], "x-cpu")
		}
	})
}
