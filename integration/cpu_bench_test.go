package integration

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// BenchmarkWalletCPUPerEscrowByPhase measures the wallet-rpc CPU one escrow costs on the
// Monero the tests run, phase by phase (setup; funding: the payment seen and counted;
// payout: release decided to completed), with the key cache and as stock wallet-rpc, in the
// same run, three escrows one after another on each (medians reported):
//
//	go test -count=1 -run XXX -bench WalletCPUPerEscrow -benchtime 1x ./integration
func BenchmarkWalletCPUPerEscrowByPhase(b *testing.B) {
	for b.Loop() {
		for _, stock := range []bool{false, true} {
			name := "keycache"
			if stock {
				name = "stock"
			}
			setup, funding, payout := cpuPerPhase(b, stock, 3)
			b.ReportMetric(setup.Seconds(), name+"-setup-cpu-s")
			b.ReportMetric(funding.Seconds(), name+"-funding-cpu-s")
			b.ReportMetric(payout.Seconds(), name+"-payout-cpu-s")
		}
	}
}

// cpuPerPhase runs n escrows on a fresh money stack and returns the median wallet-rpc CPU of
// each phase.
func cpuPerPhase(b *testing.B, stock bool, n int) (setup, funding, payout time.Duration) {
	c := regtest(b)
	s := startStackWith(b, stackOptions{rpcs: 3, chain: c, noKeyCache: stock})
	vendor, buyer := newPayee(b, c), newPayee(b, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cpu := func() time.Duration {
		var sum time.Duration
		for _, in := range s.RPCs {
			d, err := procCPU(s.Pool.Pid(in.Name))
			require.NoError(b, err)
			sum += d
		}
		return sum
	}
	var phases [3][]time.Duration
	for i := range n {
		id := fmt.Sprintf("cpu-%t-%d", stock, i)
		in := input(id, 0)
		in.AmountAtomic, in.VendorPayoutAddress, in.BuyerRefundAddress, in.Timing = price, vendor, buyer, quickTiming()
		// The finished escrows' late-money checks must not land in the next one's phases.
		in.Timing.LatePoll, in.Timing.LatePollMax, in.Timing.LateMoneyGrace = time.Hour, time.Hour, 24*time.Hour
		t0 := cpu()
		_, err := s.Starter.Start(ctx, in)
		require.NoError(b, err)
		st, err := s.Starter.WaitReady(ctx, id)
		require.NoError(b, err)
		t1 := cpu()
		_, err = c.Pay(ctx, st.Address, price)
		require.NoError(b, err)
		require.NoError(b, c.Mine(ctx, 11))
		_, err = s.Starter.WaitUntil(ctx, id, 500*time.Millisecond, func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
		require.NoError(b, err)
		t2 := cpu()
		_, err = s.Starter.Decide(ctx, id, escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
		require.NoError(b, err)
		_, err = s.Starter.WaitUntil(ctx, id, 500*time.Millisecond, func(st escrow.State) bool { return st.Payout != nil && st.Payout.Submitted })
		require.NoError(b, err)
		require.NoError(b, c.Mine(ctx, 11))
		_, err = s.Starter.WaitUntil(ctx, id, 500*time.Millisecond, func(st escrow.State) bool { return st.Status == escrow.StatusCompleted })
		require.NoError(b, err)
		t3 := cpu()
		phases[0], phases[1], phases[2] = append(phases[0], t1-t0), append(phases[1], t2-t1), append(phases[2], t3-t2)
		b.Logf("%s: setup %.2f, funding %.2f, payout %.2f wallet-rpc CPU-s", id, (t1 - t0).Seconds(), (t2 - t1).Seconds(), (t3 - t2).Seconds())
	}
	return median(phases[0]), median(phases[1]), median(phases[2])
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// procCPU is the CPU time (user + system) the process has used, from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100, nil
}
