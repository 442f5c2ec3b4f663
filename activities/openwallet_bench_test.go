package activities

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// BenchmarkOpenWalletCheck measures what the open-wallet check costs against the real
// wallet-rpc: one get_attribute (what every step pays), one set_attribute+store (what a
// create pays, and the first open of an unlabelled wallet), and a whole 2-of-3 setup on
// three wallet-rpc, counting the extra calls the check makes per escrow and their time.
// Run: go test -run XXX -bench OpenWalletCheck -benchtime 3x ./activities
func BenchmarkOpenWalletCheck(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	rpcs, err := devstack.StartWalletRPCs(ctx, len(escrow.Roles), b.TempDir(), devstack.WalletRPCOptions{Offline: true, ExtraArgs: []string{"--daemon-ssl", "disabled"}})
	if err != nil {
		b.Fatal(err)
	}
	defer devstack.StopWalletRPCs(rpcs) //nolint:errcheck
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	roles := make([]*benchRole, len(rpcs))
	for i, r := range rpcs {
		br := &benchRole{role: escrow.Roles[i], pid: r.Proc.Pid()}
		rpc := walletrpc.New(walletrpc.Config{URL: r.URL, Timeout: 2 * time.Minute, Observe: br.observe})
		if br.w, err = NewWallet(WalletConfig{Instance: r.Name, RPC: rpc, Dir: r.Dir, Secret: bytes.Repeat([]byte{3}, 32)}); err != nil {
			b.Fatal(err)
		}
		br.rpc, br.env = rpc, suite.NewTestActivityEnvironment()
		br.env.RegisterActivity(br.w)
		roles[i] = br
	}
	first := roles[0]
	if _, err := first.env.ExecuteActivity(first.w.CreateWallet, WalletInput{EscrowID: "bench-check", Role: first.role}); err != nil {
		b.Fatal(err)
	}

	b.Run("get_attribute", func(b *testing.B) {
		cpu0 := cpuSeconds(b, first.pid)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := first.rpc.GetAttribute(ctx, WalletLabelKey); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric((cpuSeconds(b, first.pid)-cpu0)/float64(b.N), "wallet-rpc-cpu-s/op")
	})
	b.Run("label", func(b *testing.B) {
		cpu0 := cpuSeconds(b, first.pid)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := first.w.label(ctx, escrow.WalletName("bench-check", first.role)); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric((cpuSeconds(b, first.pid)-cpu0)/float64(b.N), "wallet-rpc-cpu-s/op")
	})
	b.Run("setup", func(b *testing.B) {
		for _, r := range roles {
			r.reset()
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			benchSetup(b, roles, fmt.Sprintf("bench-setup-%d", benchEscrows.Add(1)))
		}
		b.StopTimer()
		var gets, sets, labelStores int
		var checkTime time.Duration
		for _, r := range roles {
			gets, sets, labelStores = gets+r.gets, sets+r.sets, labelStores+r.labelStores
			checkTime += r.checkTime
		}
		n := float64(b.N)
		b.ReportMetric(float64(gets)/n, "get_attribute/escrow")
		b.ReportMetric(float64(sets)/n, "set_attribute/escrow")
		b.ReportMetric(float64(labelStores)/n, "label-store/escrow")
		b.ReportMetric(float64(gets+sets+labelStores)/n, "extra-rpcs/escrow")
		b.ReportMetric(checkTime.Seconds()*1000/n, "check-ms/escrow")
	})
}

// benchEscrows numbers the benchmark's escrows: -count and the testing package's probing run repeat a
// sub-benchmark on the same wallet dirs, where a reused ID would find its wallets multisig.
var benchEscrows atomic.Int64

// benchRole is one role's wallet-rpc with counters of the check's calls.
type benchRole struct {
	role escrow.Role
	pid  int
	rpc  *walletrpc.Client
	w    *Wallet
	env  *testsuite.TestActivityEnvironment

	mu                      sync.Mutex
	last                    string
	gets, sets, labelStores int
	checkTime               time.Duration
}

// observe counts get_attribute, set_attribute, and the store right after a set_attribute
// (the label's store; a round's store follows make/exchange), with their time.
func (r *benchRole) observe(method string, d time.Duration, _ error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case method == walletrpc.MethodGetAttribute:
		r.gets++
		r.checkTime += d
	case method == walletrpc.MethodSetAttribute:
		r.sets++
		r.checkTime += d
	case method == walletrpc.MethodStore && r.last == walletrpc.MethodSetAttribute:
		r.labelStores++
		r.checkTime += d
	}
	r.last = method
}

func (r *benchRole) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gets, r.sets, r.labelStores, r.checkTime = 0, 0, 0, 0
}

// benchSetup runs one escrow's setup as the workflow does: create, prepare, three rounds and
// verify for every role, each stage's three steps in parallel.
func benchSetup(b *testing.B, roles []*benchRole, id string) {
	exec := func(r *benchRole, fn, in, out any) {
		v, err := r.env.ExecuteActivity(fn, in)
		if err == nil {
			err = v.Get(out)
		}
		if err != nil {
			b.Error(r.role, err)
		}
	}
	each := func(f func(r *benchRole)) {
		var wg sync.WaitGroup
		for _, r := range roles {
			wg.Go(func() { f(r) })
		}
		wg.Wait()
		if b.Failed() {
			b.FailNow()
		}
	}
	infos := map[escrow.Role]string{}
	var mu sync.Mutex
	each(func(r *benchRole) {
		in := WalletInput{EscrowID: id, Role: r.role}
		exec(r, r.w.CreateWallet, in, &CreateWalletResult{})
		var msg MultisigMessage
		exec(r, r.w.PrepareMultisig, in, &msg)
		mu.Lock()
		infos[r.role] = msg.Info
		mu.Unlock()
	})
	for round := 1; round <= escrow.Rounds; round++ {
		next := map[escrow.Role]string{}
		each(func(r *benchRole) {
			fn := r.w.ExchangeMultisigKeys
			if round == 1 {
				fn = r.w.MakeMultisig
			}
			var res RoundResult
			exec(r, fn, RoundInput{EscrowID: id, Role: r.role, Round: round, Infos: others(infos, r.role)}, &res)
			mu.Lock()
			next[r.role] = res.Info
			mu.Unlock()
		})
		infos = next
	}
	each(func(r *benchRole) {
		var v VerifyResult
		exec(r, r.w.VerifyMultisig, WalletInput{EscrowID: id, Role: r.role}, &v)
		if !v.Ready {
			b.Errorf("%s: not ready: %+v", r.role, v)
		}
	})
}
