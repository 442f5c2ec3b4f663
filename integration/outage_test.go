package integration

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/starter"
)

// daemonCut stands between the wallet-rpc pool and monerod. Once armed, the first attempt to
// broadcast a transaction takes the daemon away, as if monerod stopped at that moment, until
// the test brings it back.
type daemonCut struct {
	armed, down atomic.Bool
	cuts        atomic.Int32
	srv         *httptest.Server
}

func newDaemonCut(t *testing.T, daemon string) *daemonCut {
	target, err := url.Parse("http://" + daemon)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	d := &daemonCut{}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.armed.Load() && strings.Contains(r.URL.Path, "send") && strings.Contains(r.URL.Path, "transaction") {
			d.armed.Store(false)
			d.down.Store(true)
			d.cuts.Add(1)
		}
		if d.down.Load() {
			// A stopped daemon: the connection is dropped without an answer.
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					_ = c.Close()
					return
				}
			}
			http.Error(w, "daemon down", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *daemonCut) address() string {
	u, _ := url.Parse(d.srv.URL)
	return net.JoinHostPort(u.Hostname(), u.Port())
}

// TestTheDaemonStoppingAtSubmitParksThePayoutAndItCompletesOnce: monerod goes away at the
// moment the co-signer submits the release. The escrow parks as payout_blocked with the
// reason, tries again on its back-off once the daemon is back, and ends completed with one
// payout on the chain.
func TestTheDaemonStoppingAtSubmitParksThePayoutAndItCompletesOnce(t *testing.T) {
	c := regtest(t)
	cut := newDaemonCut(t, c.Daemon.Address)
	s := startStackWith(t, stackOptions{rpcs: 3, chain: c, daemon: cut.address()})
	ms := &moneyStack{Stack: s, chain: c}
	ms.vendor, ms.buyer = payeeAddresses(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	const id = "outage"
	ms.fundedEscrow(t, ctx, id)
	cut.armed.Store(true)
	_, err := ms.Starter.Decide(ctx, id, escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
	require.NoError(t, err)
	st := ms.waitFor(t, ctx, id, "payout_blocked", func(st escrow.State) bool { return st.Status == escrow.StatusPayoutBlocked })
	require.NotNil(t, st.Blocked)
	assert.Equal(t, escrow.BlockUnreachable, st.Blocked.Code, "reason: %s", st.Blocked.Reason)
	assert.Equal(t, escrow.StatusReleasing, st.Blocked.From)
	assert.False(t, st.Payout.Submitted)
	var listed []starter.RunSummary
	require.Eventually(t, func() bool { // visibility is eventually consistent
		listed, err = ms.Starter.ListByStatus(ctx, escrow.StatusPayoutBlocked)
		return err == nil && len(listed) > 0
	}, 30*time.Second, 500*time.Millisecond, "list payout_blocked: %v", err)
	if assert.Len(t, listed, 1, "operators find it by EscrowStatus") {
		assert.Equal(t, escrow.WorkflowID(id), listed[0].WorkflowID)
		assert.Equal(t, escrow.BlockUnreachable, listed[0].Blocked, "and see why in EscrowBlocked")
	}
	t.Logf("parked: %s", st.Blocked.Reason)
	body := scrapeUntil(t, s.MetricsURL, func(body string) bool { // and it is counted for alerting
		return strings.Contains(body, `xmr_escrow_payout_blocked`) && strings.Contains(body, `reason="unreachable"`)
	})
	assert.Contains(t, body, `reason="unreachable"`, "metric xmr_escrow_payout_blocked{reason=\"unreachable\"}")
	t.Logf("metric: %s", grepLines(body, "xmr_escrow_payout_blocked"))

	cut.down.Store(false) // monerod is back
	st = ms.settle(t, ctx, id, escrow.StatusCompleted)
	assert.Nil(t, st.Blocked)
	assert.Equal(t, int32(1), cut.cuts.Load())
	payouts := ms.incomingTo(t, ctx, ms.vendor)
	require.Len(t, payouts, len(st.Payout.TxHashes), "one payout on the chain, none twice")
	assert.Equal(t, st.Payout.AmountAtomic, ms.receivedBy(t, ctx, ms.vendor, st.Payout.TxHashes))
	saveHistory(t, ms.Stack, id, "payout-parked")
}
