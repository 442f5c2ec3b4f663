package watcher

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// margin is activities.WatchMargin: a registration starts this many blocks below the
// wallet's height.
const margin = 10

// successor is a new leader on the same store and daemon: fresh memory, as after a failover.
func successor(w *Watcher, n *notices) *Watcher {
	return New(Config{Store: w.cfg.Store, Daemon: w.cfg.Daemon, Notify: n.notify, Workers: 2})
}

// failInThePool sets up a watcher that sees a payment to recv2 in the pool while Temporal
// is down: the sighting is kept, not delivered.
func failInThePool(t *testing.T) (vectors, *fakeDaemon, *memStore, *notices, *Watcher, string) {
	t.Helper()
	v, d, st, n, w := setup(t)
	pass(t, w)
	n.fail = true
	tx := v.Txs[2].Hash
	d.pool = []string{tx}
	pass(t, w)
	return v, d, st, n, w, tx
}

// TestNoticesNotDeliveredSurviveALeaderChange: Temporal is down when a payment is mined,
// and the leader stops before it can retry. The block is recorded as scanned, with the
// notice; the next leader delivers it and deletes it.
func TestNoticesNotDeliveredSurviveALeaderChange(t *testing.T) {
	v, d, st, n, w, tx := failInThePool(t)
	d.mine(v, 1, "", tx)
	pass(t, w) // seen in its block, not delivered
	require.Len(t, st.notices, len(expect(v, 0, true, []string{tx}, "recv1", "recv2"))*2, "both kept, with the block")
	top, err := st.ScannedBlocks(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, uint64(300), top[0].Height, "the block is recorded as scanned")

	n.fail = false
	pass(t, successor(w, n))
	want := append(expect(v, 0, true, []string{tx}, "recv2"), expect(v, 300, false, []string{tx}, "recv2")...)
	assert.ElementsMatch(t, want, n.take(), "the new leader delivers what the old one could not")
	assert.Empty(t, st.notices, "each deleted once delivered")
}

// TestAKeptPoolSightingIsSignalledOnceByTheNextLeader: the next leader delivers a kept
// pool sighting of a transaction still in the pool, and its own scan of the pool does not
// signal it again.
func TestAKeptPoolSightingIsSignalledOnceByTheNextLeader(t *testing.T) {
	v, _, st, n, w, tx := failInThePool(t)
	require.NotEmpty(t, st.notices)
	n.fail = false
	pass(t, successor(w, n))
	assert.Equal(t, expect(v, 0, true, []string{tx}, "recv2"), n.take(), "once")
}

// TestANewLeaderBackfillsARegistrationItsPredecessorMissed: an escrow registers margin blocks
// below the top after its payment was mined, and the leader stops before it reloads the
// registrations. The new leader scans that escrow's past; the other escrows hear nothing again.
func TestANewLeaderBackfillsARegistrationItsPredecessorMissed(t *testing.T) {
	v, d, st, n, w := setup(t)
	st.watches = st.watches[:1] // recv1 only
	pass(t, w)
	tx := v.Txs[2].Hash
	d.mine(v, 1, "", tx) // 300 pays recv2
	for range 3 {
		d.mine(v, 0, "")
	}
	pass(t, w)
	require.Empty(t, n.take(), "recv2 is not watched yet")
	st.watches = append(st.watches, v.watch(t, "recv2", 303-margin))

	pass(t, successor(w, n))
	assert.Equal(t, expect(v, 300, false, []string{tx}, "recv2"), n.take(), "found in the backfill")
	pending, err := st.PendingBackfills(context.Background())
	require.NoError(t, err)
	assert.Empty(t, pending, "recorded as backfilled")
	pass(t, successor(w, n))
	assert.Empty(t, n.take(), "a third leader does not backfill it again")
}

// TestAFailedBackfillIsRetriedOnTheNextPass: the daemon fails a block the backfill needs;
// the main pass goes on, and the next pass backfills again and reports the payment.
func TestAFailedBackfillIsRetriedOnTheNextPass(t *testing.T) {
	v, d, st, n, w := setup(t)
	st.watches = st.watches[:1]
	tx := v.Txs[2].Hash
	d.mine(v, 1, "", tx) // 300 pays recv2
	pass(t, w)
	st.watches = append(st.watches, v.watch(t, "recv2", 299))
	d.failBlock = map[uint64]bool{300: true}
	d.mine(v, 0, "")
	pass(t, w)
	assert.Empty(t, n.take())
	top, err := st.ScannedBlocks(context.Background(), 1)
	require.NoError(t, err)
	assert.Equal(t, uint64(301), top[0].Height, "the main pass went on")

	d.failBlock = nil
	st.failBackfill = true
	pass(t, w)
	assert.Equal(t, expect(v, 300, false, []string{tx}, "recv2"), n.take(), "retried")
	st.failBackfill = false
	pass(t, w)
	n.take() // not marked last time: scanned again, at worst one more check for the escrow
	pending, err := st.PendingBackfills(context.Background())
	require.NoError(t, err)
	assert.Empty(t, pending)
	pass(t, w)
	assert.Empty(t, n.take(), "done once marked")
}

// TestAReorgInTheMiddleOfAPassIsFollowed: the chain is replaced between the leader's reads of
// two blocks of one pass, so the second block's parent is not the first. The leader unwinds
// and scans the new branch, whose first block holds the payment.
func TestAReorgInTheMiddleOfAPassIsFollowed(t *testing.T) {
	v, d, st, n, w := setup(t)
	pass(t, w)
	d.mine(v, 0, "")
	d.mine(v, 0, "")
	tx := v.Txs[2].Hash
	d.onBlock = func(h uint64) {
		if h == 301 {
			d.onBlock = nil
			d.blocks = d.blocks[:300]
			d.mineLocked(v, 1, "branch", tx)
			d.mineLocked(v, 0, "branch")
		}
	}
	pass(t, w) // reads 300 on the old branch, 301 on the new one: unwinds
	pass(t, w)
	assert.Equal(t, expect(v, 300, false, []string{tx}, "recv2"), n.take(), "the new branch's block is scanned")
	top, err := st.ScannedBlocks(context.Background(), 2)
	require.NoError(t, err)
	assert.Equal(t, []store.ScannedBlock{{Height: 301, Hash: d.blocks[301].hash}, {Height: 300, Hash: d.blocks[300].hash}}, top)
}

// hangingLock is a lock whose checks succeed until hang is set, then block until their
// deadline, as a frozen database connection would.
type hangingLock struct {
	hang     atomic.Bool
	released atomic.Bool
}

func (l *hangingLock) Alive(ctx context.Context) error {
	if l.hang.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (l *hangingLock) Release() { l.released.Store(true) }

// TestALeaderWhoseCheckHangsStopsBeforeAnotherLeads: the leader's lock check hangs. It stops
// at the check's deadline, and acts (signals, records) no later than its lease, before
// PostgreSQL could end its session (ttl) and let another replica lead.
func TestALeaderWhoseCheckHangsStopsBeforeAnotherLeads(t *testing.T) {
	v, d, st, _, _ := setup(t)
	var mu sync.Mutex
	var lastAct time.Time
	notify := func(context.Context, string, Seen) error {
		mu.Lock()
		defer mu.Unlock()
		lastAct = time.Now()
		return nil
	}
	w := New(Config{Store: st, Daemon: newDaemonOf(d, t), Notify: notify, Workers: 2, Poll: 50 * time.Millisecond, Standby: time.Hour})
	lock := &hangingLock{}
	var elected atomic.Int32
	w.elect = func(context.Context) (leadership, error) {
		if elected.Add(1) > 1 {
			return nil, nil
		}
		return lock, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	require.Eventually(t, w.Leading, 5*time.Second, 10*time.Millisecond)

	d.mu.Lock()
	d.pool = []string{v.Txs[2].Hash}
	d.mu.Unlock()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return !lastAct.IsZero() }, 5*time.Second, 10*time.Millisecond, "it leads")
	hungAt := time.Now()
	lock.hang.Store(true)
	require.Eventually(t, func() bool { return !w.Leading() }, w.ttl(), 10*time.Millisecond, "stopped before the server could hand the lock on")
	assert.Less(t, time.Since(hungAt), w.ttl())
	assert.True(t, lock.released.Load(), "it let the lock go")
	d.mu.Lock()
	d.pool = []string{v.Txs[0].Hash}
	d.mu.Unlock()
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	assert.Less(t, lastAct.Sub(hungAt), w.lease(), "nothing signalled after the lease")
	mu.Unlock()
	assert.Less(t, w.lease(), w.ttl(), "the lease ends before the server ends the session")
	cancel()
	<-done
}

// newDaemonOf serves f again through a fresh client (the setup's client is the watcher's).
func newDaemonOf(f *fakeDaemon, t *testing.T) *Daemon {
	t.Helper()
	_, c := newFakeDaemonServing(t, f)
	return c
}

// TestARegistrationChangeSignalsOnlyTheNewEscrow: with payments waiting in the pool, a new
// registration has the pool's transactions scanned for its key alone, without fetching them
// again; the escrows already told hear nothing again. A removed escrow is not told of its
// payment's block; the one watched is, once.
func TestARegistrationChangeSignalsOnlyTheNewEscrow(t *testing.T) {
	v, d, st, n, w := setup(t)
	st.watches = st.watches[:1] // recv1
	all := []string{v.Txs[0].Hash, v.Txs[1].Hash, v.Txs[2].Hash, v.Txs[3].Hash}
	d.pool = slices.Clone(all)
	pass(t, w)
	assert.Equal(t, expect(v, 0, true, all, "recv1"), n.take())
	fetched := len(d.fetched)

	st.watches = append(st.watches, v.watch(t, "recv2", 299))
	pass(t, w)
	assert.Equal(t, expect(v, 0, true, all, "recv2"), n.take(), "only the new escrow, from the pool")
	assert.Len(t, d.fetched, fetched, "the pool's transactions are not fetched again")
	pass(t, w)
	assert.Empty(t, n.take(), "nothing twice")

	st.watches = st.watches[1:] // recv1 leaves
	pass(t, w)
	assert.Empty(t, n.take(), "a removal signals no one")
	d.mine(v, 1, "", all...)
	pass(t, w)
	assert.Equal(t, expect(v, 300, false, all, "recv2"), n.take(), "the block confirms the watched escrow's sightings, once")
	assert.Len(t, d.fetched, fetched, "nor in their block")
}
