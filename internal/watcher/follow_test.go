package watcher

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// payoutNotices collects what the watcher told the escrows about their payouts.
type payoutNotices struct {
	mu   sync.Mutex
	got  []string
	fail bool
}

func (p *payoutNotices) notify(_ context.Context, escrowID string, s FollowState) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return fmt.Errorf("temporal is down")
	}
	p.got = append(p.got, fmt.Sprintf("%s %s conf=%d pool=%t gone=%t", escrowID, s.TxHash[:8], s.Confirmations, s.InPool, s.Gone))
	return nil
}

func (p *payoutNotices) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.got
	p.got = nil
	return out
}

// TestAFollowedPayoutIsReportedAtEachDepthAndWhenItDisappears: a payout followed from the
// pool is reported there, at each new depth up to its target and not beyond, not again while
// nothing changes, and when a reorg takes its block and it is dropped, as gone. A signal that
// fails is sent on the next pass.
func TestAFollowedPayoutIsReportedAtEachDepthAndWhenItDisappears(t *testing.T) {
	v, d, st, _, w := setup(t)
	pn := &payoutNotices{}
	w.cfg.NotifyPayout = pn.notify
	tx := v.Txs[0].Hash
	short := tx[:8]
	d.pool = []string{tx}
	st.followed = []store.Followed{{EscrowID: "paid", TxHash: tx, Target: 3}}
	pass(t, w)
	assert.Equal(t, []string{"paid " + short + " conf=0 pool=true gone=false"}, pn.take(), "in the pool")
	pass(t, w)
	assert.Empty(t, pn.take(), "nothing changed, nothing told")

	d.mine(v, 1, "", tx)
	pass(t, w)
	assert.Equal(t, []string{"paid " + short + " conf=1 pool=false gone=false"}, pn.take(), "mined")
	for depth := 2; depth <= 5; depth++ {
		d.mine(v, 0, "")
		pass(t, w)
		if depth <= 3 {
			assert.Equal(t, []string{fmt.Sprintf("paid %s conf=%d pool=false gone=false", short, depth)}, pn.take())
		} else {
			assert.Empty(t, pn.take(), "deeper than the target is not news")
		}
	}

	pn.fail = true
	d.pop(5) // its block is reorged out, and the transaction is not back in the pool
	d.gone = map[string]bool{tx: true}
	d.mine(v, 0, "other")
	pass(t, w)
	assert.Empty(t, pn.take(), "Temporal is down")
	pn.fail = false
	pass(t, w)
	assert.Equal(t, []string{"paid " + short + " conf=0 pool=false gone=true"}, pn.take(), "gone, told on the next pass")
	pass(t, w)
	assert.Empty(t, pn.take())

	st.followed = nil // unwatched
	pass(t, w)
	assert.Empty(t, pn.take())
}

// Funding payments followed while they confirm are told once, when every one is as deep as the
// escrow waits for: not in the pool, not at each depth. Then they are no longer followed; a
// failed unfollow is tried again on the next pass without telling the escrow twice. A payout
// followed beside them is told as always.
func TestFollowedFundingPaymentsAreToldOnceWhenDeepEnough(t *testing.T) {
	v, d, st, _, w := setup(t)
	pn, fn := &payoutNotices{}, &payoutNotices{}
	w.cfg.NotifyPayout, w.cfg.NotifyFunding = pn.notify, fn.notify
	tx := v.Txs[0].Hash
	short := tx[:8]
	d.pool = []string{tx}
	st.followed = []store.Followed{{EscrowID: "funding", TxHash: tx, Target: 3, Purpose: store.PurposeFunding}}
	pass(t, w)
	assert.Empty(t, fn.take(), "in the pool: not deep enough")

	d.mine(v, 1, "", tx)
	pass(t, w)
	d.mine(v, 0, "")
	pass(t, w)
	assert.Empty(t, fn.take(), "two deep of three: nothing to tell")

	st.failUnfollow = true
	d.mine(v, 0, "")
	pass(t, w)
	assert.Equal(t, []string{"funding " + short + " conf=3 pool=false gone=false"}, fn.take(), "deep enough: told once")
	assert.Len(t, st.followed, 1, "the unfollow failed")
	st.failUnfollow = false
	pass(t, w)
	assert.Empty(t, fn.take(), "not told twice")
	assert.Empty(t, st.followed, "unfollowed on the next pass")
	d.mine(v, 0, "")
	pass(t, w)
	assert.Empty(t, fn.take())
	assert.Empty(t, pn.take(), "no payout was followed")
}

// A followed funding payment that leaves the pool without being mined (a double spend) is told
// at once, as gone: the escrow's check finds the money is not coming.
func TestAFollowedFundingPaymentThatIsGoneIsToldAtOnce(t *testing.T) {
	v, d, st, _, w := setup(t)
	fn := &payoutNotices{}
	w.cfg.NotifyFunding = fn.notify
	tx := v.Txs[0].Hash
	d.pool = []string{tx}
	st.followed = []store.Followed{{EscrowID: "funding", TxHash: tx, Target: 10, Purpose: store.PurposeFunding}}
	pass(t, w)
	assert.Empty(t, fn.take())
	d.pool, d.gone = nil, map[string]bool{tx: true}
	d.mine(v, 0, "")
	pass(t, w)
	assert.Equal(t, []string{"funding " + tx[:8] + " conf=0 pool=false gone=true"}, fn.take())
	assert.Empty(t, st.followed)
}

// TestAnEscrowRegisteredAgainForItsGraceHearsOfLatePayments: an escrow unwatched at funding
// registers again when its late-money grace starts, WatchMargin blocks back. A payment made
// while it was not watched, inside that margin, is backfilled; a later one is reported from
// the pool, as for an escrow awaiting payment.
func TestAnEscrowRegisteredAgainForItsGraceHearsOfLatePayments(t *testing.T) {
	v, d, st, n, w := setup(t)
	pass(t, w)
	st.mu.Lock()
	st.watches = st.watches[1:] // recv1 funded: unwatched
	st.mu.Unlock()
	pass(t, w)
	early := v.Txs[0].Hash
	d.mine(v, 1, "", early)
	pass(t, w)
	assert.Equal(t, expect(v, 300, false, []string{early}, "recv2"), n.take(), "recv1 is not watched")

	st.mu.Lock()
	st.watches = append(st.watches, v.watch(t, "recv1", 292)) // the grace: registered again
	st.mu.Unlock()
	pass(t, w)
	want := expect(v, 300, false, []string{early}, "recv1")
	assert.NotEmpty(t, want)
	assert.Equal(t, want, n.take(), "the payment in the margin is backfilled")

	late := v.Txs[1].Hash
	d.pool = []string{late}
	pass(t, w)
	want = expect(v, 0, true, []string{late}, "recv1")
	assert.NotEmpty(t, want)
	assert.Subset(t, n.take(), want, "a late payment is reported from the pool")
}
