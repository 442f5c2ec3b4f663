package workflows

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// walletActivities are the activities that ask an escrow's wallet-rpc (a refresh after an
// open_wallet when the instance had another wallet open) once the escrow is finished.
var walletActivities = []string{"CheckFunding", "PayoutStatus"}

// TestWalletChecksPerGrace counts, for one finished escrow in simulated time, the wallet-rpc
// checks its 7-day late-money grace schedules (issue 23 item 4): the back-off poll a worker
// without a watcher keeps (before), the watched grace whose safety net the watcher's records
// answer (after: the last look alone, plus the PayoutStatus that completes the payout at the
// grace's first instant), and a watched grace whose records never vouch (a stalled watcher:
// the start check, the daily safety net and the last look). Multiply by the wallet-rpc CPU of
// one check (BenchmarkLateCheckCPU in internal/watcher) for the CPU. RegisterWatch is not
// counted: the watched grace no longer runs it, and a worker without a watcher answers it
// without opening a wallet. Run:
//
//	go test -count=1 -run TestWalletChecksPerGrace -v ./workflows
func TestWalletChecksPerGrace(t *testing.T) {
	type schedule struct {
		name             string
		watched, stalled bool
	}
	counts := map[string]int{}
	for _, c := range []schedule{
		{"polled", false, false},
		{"watched", true, false},
		{"watched/records-never-vouch", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := new(EscrowSuite)
			s.SetT(t)
			s.SetupTest()
			s.watch.late, s.watch.follow, s.watch.none, s.watch.stalled = c.watched, c.watched, !c.watched, c.stalled
			var mu sync.Mutex
			var at []time.Time
			var names []string
			s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
				for _, n := range walletActivities {
					if strings.HasSuffix(info.ActivityType.Name, n) {
						mu.Lock()
						at, names = append(at, s.env.Now()), append(names, n)
						mu.Unlock()
					}
				}
			})
			s.decide(hour, escrow.UpdateConfirmReceipt, asBuyer)
			res, st := s.runLifecycle("grace-"+strings.ReplaceAll(c.name, "/", "-"), escrow.EscrowInput{})
			s.Require().NoError(s.env.GetWorkflowError())
			s.Equal(escrow.StatusCompleted, res.Status)
			s.Require().NotNil(st.LateWatch)
			s.Equal(c.watched, st.LateWatch.Registered)
			start := st.WatchUntil.Add(-7 * 24 * time.Hour)
			byName := map[string]int{}
			n := 0
			for i, x := range at {
				if !x.Before(start) && !x.After(st.WatchUntil) {
					byName[names[i]]++
					n++
				}
			}
			counts[c.name] = n
			t.Logf("%s: %d wallet checks in the 7-day grace %v", c.name, n, byName)
		})
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "polled" && counts[k] > 0 {
			t.Logf("polled over %s: %.1fx fewer wallet checks (%d against %d)", k, float64(counts["polled"])/float64(counts[k]), counts["polled"], counts[k])
		}
	}
	if counts["watched"] != 2 || counts["watched/records-never-vouch"] > 9 || counts["polled"] < 30 {
		t.Errorf("want the watched grace at 2 checks (the payout's, the last look), a stalled watcher's at 9 at most, the poll's at 30 or more: %v", counts)
	}
}
