package watcher

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// setup builds a fake chain of 300 empty-ish blocks (each with a recorded miner tx), a store
// watching recv1 and recv2 from height 298, and a watcher over them.
func setup(t *testing.T) (vectors, *fakeDaemon, *memStore, *notices, *Watcher) {
	t.Helper()
	v := loadVectors(t)
	d, client := newFakeDaemon(t, v)
	for range 300 {
		d.mine(v, 0, "")
	}
	st := &memStore{blocks: map[uint64]string{}, backfilled: map[string]uint64{}, watches: []store.Watch{v.watch(t, "recv1", 298), v.watch(t, "recv2", 298)}}
	n := &notices{}
	w := New(Config{Store: st, Daemon: client, Notify: n.notify, Workers: 2})
	return v, d, st, n, w
}

// expect lists what wallet-rpc reported for the given keys in the given txs, at height h.
func expect(v vectors, h uint64, pool bool, txs []string, keys ...string) []string {
	var out []string
	for _, e := range v.Expected {
		if slices.Contains(keys, e.Key) && slices.Contains(txs, e.TxHash) {
			out = append(out, fmt.Sprintf("%s %s/%d %d h=%d pool=%t", e.Key, e.TxHash[:8], e.OutputIndex, e.Amount, h, pool))
		}
	}
	slices.Sort(out)
	return out
}

func pass(t *testing.T, w *Watcher) {
	t.Helper()
	require.NoError(t, w.Pass(context.Background()))
}

// TestEveryPaymentIsSeenInThePoolAndAgainInItsBlock: several outputs to one escrow in one
// transaction, two escrows paid by one transaction, a payment with additional tx keys, a
// time-locked payment, and decoy outputs to other addresses (the funder's change and its
// subaddress): each watched output is reported with the amount wallet-rpc reported, first
// from the pool, then with its block's height; nothing else is.
func TestEveryPaymentIsSeenInThePoolAndAgainInItsBlock(t *testing.T) {
	v, d, _, n, w := setup(t)
	pass(t, w)
	assert.Empty(t, n.take(), "nothing paid yet")

	all := []string{v.Txs[0].Hash, v.Txs[1].Hash, v.Txs[2].Hash, v.Txs[3].Hash}
	d.pool = slices.Clone(all)
	pass(t, w)
	inPool := n.take()
	assert.Equal(t, expect(v, 0, true, all, "recv1", "recv2"), inPool, "seen in the pool")
	assert.Equal(t, slices.Repeat([]uint64{300}, len(inPool)), n.next, "a pool sighting names the next block's height, which its unlock_time is judged against")
	pass(t, w)
	assert.Empty(t, n.take(), "a pool transaction is reported once")
	assert.ElementsMatch(t, all, d.fetched, "each pool transaction is fetched once, the pool itself by hash")

	d.mine(v, 1, "", all[:2]...)
	d.mine(v, 1, "", all[2:]...)
	pass(t, w)
	got := n.take()
	want := append(expect(v, 300, false, all[:2], "recv1", "recv2"), expect(v, 301, false, all[2:], "recv1", "recv2")...)
	slices.Sort(want)
	assert.Equal(t, want, got, "seen again in its block, within one block")
	for _, g := range got {
		assert.NotContains(t, g, "funder", "no output of another address is reported")
	}
	assert.ElementsMatch(t, all, d.fetched, "transactions scanned in the pool are not fetched or scanned again in their block")
	st := w.Stats()
	assert.Equal(t, Stats{Height: 301, Watched: 2, Seen: int64(len(want) * 2)}, st, "the metrics' figures")
}

// TestAReorgIsFollowedAndThePaymentReportedAtItsNewHeight: the block holding a payment is
// replaced by a branch where it is mined one block later; the watcher finds the fork by hash
// and reports the payment again at its new height.
func TestAReorgIsFollowedAndThePaymentReportedAtItsNewHeight(t *testing.T) {
	v, d, st, n, w := setup(t)
	tx := v.Txs[1].Hash
	d.mine(v, 1, "", tx)
	pass(t, w)
	assert.Equal(t, expect(v, 300, false, []string{tx}, "recv1", "recv2"), n.take())

	d.pop(1)
	d.mine(v, 1, "branch")
	d.mine(v, 1, "branch", tx)
	pass(t, w) // finds the fork
	pass(t, w) // scans the branch
	assert.Equal(t, expect(v, 301, false, []string{tx}, "recv1", "recv2"), n.take())
	top, err := st.ScannedBlocks(context.Background(), 1)
	require.NoError(t, err)
	assert.Equal(t, d.blocks[301].hash, top[0].Hash, "the branch is what is recorded")
}

// TestARestartedWatcherGoesOnFromTheLastScannedBlock: a new leader (fresh memory, same
// database) neither rescans nor re-reports old blocks, and reports the new one.
func TestARestartedWatcherGoesOnFromTheLastScannedBlock(t *testing.T) {
	v, d, st, n, w := setup(t)
	d.mine(v, 1, "", v.Txs[0].Hash)
	pass(t, w)
	require.NotEmpty(t, n.take())

	d.mine(v, 1, "", v.Txs[2].Hash)
	w2 := New(Config{Store: st, Daemon: w.cfg.Daemon, Notify: n.notify})
	pass(t, w2)
	assert.Equal(t, expect(v, 301, false, []string{v.Txs[2].Hash}, "recv1", "recv2"), n.take())
}

// TestANewlyRegisteredEscrowIsScannedFromItsRegistrationHeight: an escrow registered after
// its payment was mined (the buyer paid at once) gets the blocks since its height backfilled.
func TestANewlyRegisteredEscrowIsScannedFromItsRegistrationHeight(t *testing.T) {
	v, d, st, n, w := setup(t)
	st.watches = st.watches[:1] // only recv1
	pass(t, w)
	d.mine(v, 1, "", v.Txs[2].Hash) // pays recv2
	pass(t, w)
	assert.Empty(t, n.take(), "recv2 is not watched yet")

	st.watches = append(st.watches, v.watch(t, "recv2", 299))
	pass(t, w)
	assert.Equal(t, expect(v, 300, false, []string{v.Txs[2].Hash}, "recv2"), n.take())
}

// TestAFailedNotificationIsDeliveredOnTheNextPass: Temporal down for a moment loses nothing.
func TestAFailedNotificationIsDeliveredOnTheNextPass(t *testing.T) {
	v, d, _, n, w := setup(t)
	pass(t, w)
	n.fail = true
	d.mine(v, 1, "", v.Txs[2].Hash)
	pass(t, w)
	assert.Empty(t, n.take())
	n.fail = false
	pass(t, w)
	assert.Equal(t, expect(v, 300, false, []string{v.Txs[2].Hash}, "recv2"), n.take())
}

// TestADaemonThatIsDownOrLiesFailsThePassNotTheWatcher: a pass against a dead daemon is an
// error and the next one goes on; a block answered for the wrong height is refused.
func TestADaemonThatIsDownOrLiesFailsThePassNotTheWatcher(t *testing.T) {
	v, d, _, n, w := setup(t)
	d.down = true
	assert.ErrorIs(t, w.Pass(context.Background()), ErrDaemon)
	d.down = false
	d.mine(v, 1, "", v.Txs[2].Hash)
	pass(t, w)
	assert.NotEmpty(t, n.take())
}

// unreadNotices keeps the watcher's "check your wallet" notices, counted per escrow.
func unreadNotices(got []string) map[string]int {
	out := map[string]int{}
	for _, g := range got {
		out[g[:5]]++ // recv1, recv2
	}
	return out
}

// TestTransactionsTheScannerCannotReadWakeTheEscrowsNotSilence: after a hard fork the chain
// carries transactions of a kind the scanner cannot read (a newer RingCT type), and a broken
// one may come at any time. Neither is taken for "not paid": both are counted, and every
// watched escrow is told to ask its wallet, at most once per 10 blocks.
func TestTransactionsTheScannerCannotReadWakeTheEscrowsNotSilence(t *testing.T) {
	v, d, _, n, w := setup(t)
	const key = "0000000000000000000000000000000000000000000000000000000000000001"
	d.txs["f0f0f0f0carrot"] = `{"version":2,"unlock_time":0,"vin":[{"key":{}}],"vout":[{"amount":0,"target":{"tagged_key":{"key":"` +
		key + `","view_tag":"aa"}}},{"amount":0,"target":{"tagged_key":{"key":"` + key + `","view_tag":"bb"}}}],"extra":[],"rct_signatures":{"type":7}}`
	d.txs["e0e0e0e0broken"] = `{"version":`
	pass(t, w)
	n.take()
	d.mine(v, 0, "", "f0f0f0f0carrot", "e0e0e0e0broken")
	pass(t, w)
	assert.Equal(t, map[string]int{"recv1": 1, "recv2": 1}, unreadNotices(n.take()), "every watched escrow asks its wallet, once")
	st := w.Stats()
	assert.Equal(t, int64(2), st.UnreadTxs, "both counted")
	assert.Equal(t, int64(2), st.UnreadOutputs, "the outputs of the one that parsed")
	assert.Zero(t, st.Seen, "no payment is claimed")

	d.mine(v, 0, "", "f0f0f0f0carrot")
	pass(t, w)
	assert.Empty(t, n.take(), "not again within 10 blocks")
	for range 10 {
		d.mine(v, 0, "")
	}
	d.mine(v, 0, "", "f0f0f0f0carrot")
	pass(t, w)
	assert.Equal(t, map[string]int{"recv1": 1, "recv2": 1}, unreadNotices(n.take()), "10 blocks on, the escrows are asked again")
}
