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
// without a watcher keeps (before), the watched grace with its default daily safety net
// (after), and a watched grace whose safety net is the grace itself (the start and the last
// look only). Multiply by the wallet-rpc CPU of one check (BenchmarkLateCheckCPU in
// internal/watcher) for the CPU. Run:
//
//	go test -count=1 -run TestWalletChecksPerGrace -v ./workflows
func TestWalletChecksPerGrace(t *testing.T) {
	type schedule struct {
		name    string
		watched bool
		net     time.Duration
	}
	counts := map[string]int{}
	for _, c := range []schedule{
		{"polled", false, 0},
		{"watched/daily-safety-net", true, 0},
		{"watched/no-safety-net-but-the-last-look", true, 7 * 24 * time.Hour},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := new(EscrowSuite)
			s.SetT(t)
			s.SetupTest()
			s.watch.late, s.watch.follow, s.watch.none = c.watched, c.watched, !c.watched
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
			res, st := s.runLifecycle("grace-"+strings.ReplaceAll(c.name, "/", "-"), escrow.EscrowInput{Timing: escrow.Timing{LateWatchedPollMax: c.net}})
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
}
