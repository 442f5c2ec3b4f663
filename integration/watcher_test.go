package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/internal/store/schema"
	"github.com/xmr-escrow/xmr-escrow/internal/store/storetest"
	"github.com/xmr-escrow/xmr-escrow/internal/watcher"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// watchedAddress is an address made from fresh keys: an escrow's multisig address is an
// ordinary address, and the watcher needs only its view key and public spend key.
func watchedAddress(t *testing.T, id string, from uint64) store.Watch {
	seed := make([]byte, 32)
	_, err := rand.Read(seed)
	require.NoError(t, err)
	return storetest.NewWatch(t, id, seed, from)
}

// sightings collects what the replicas told the escrows.
type sightings struct {
	mu  sync.Mutex
	got map[string][]watcher.Seen
	by  map[string]string // tx hash → the replica that reported it last
}

func (s *sightings) notify(replica string) func(context.Context, string, watcher.Seen) error {
	return func(_ context.Context, id string, seen watcher.Seen) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.got[id] = append(s.got[id], seen)
		s.by[seen.TxHash] = replica
		return nil
	}
}

// waitFor polls until cond holds over what was seen, or fails after a minute (a bound for a
// hung test, not a measurement: blocks are mined only when the test says so).
func (s *sightings) waitFor(t *testing.T, what string, cond func(map[string][]watcher.Seen) bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return cond(s.got)
	}, time.Minute, 100*time.Millisecond, what)
}

// total sums what was reported for id from the pool (height 0) or from block height h.
func total(seen []watcher.Seen, h uint64) (sum uint64, outputs int) {
	for _, x := range seen {
		if x.Height == h {
			sum += x.Amount
			outputs++
		}
	}
	return sum, outputs
}

// TestTheBlockWatcherSeesEveryPaymentWithinOneBlock: 20 watched escrows on the regtest
// chain, two watcher replicas on one database. Payments in three transactions, with several
// outputs to one escrow, many escrows in one transaction and decoy outputs to unwatched
// addresses, are each reported from the pool before any block is mined, then again with the
// block's height once one block is mined; two watched escrows that were never paid hear
// nothing. The leader is then stopped: the standby takes over and reports the next payment.
// Last, the block holding it is popped and the chain re-mined: the watcher follows the reorg
// by hash and reports the payment in the new block.
func TestTheBlockWatcherSeesEveryPaymentWithinOneBlock(t *testing.T) {
	c, ctx, st, height := watcherChain(t, 10*time.Minute)

	watched := make([]store.Watch, 20)
	for i := range watched {
		watched[i] = watchedAddress(t, fmt.Sprintf("w%02d", i), height)
		require.NoError(t, st.RegisterWatch(ctx, watched[i]))
	}
	decoy := func() string { return watchedAddress(t, "decoy", 0).Address }

	seen := &sightings{got: map[string][]watcher.Seen{}, by: map[string]string{}}
	replicas := map[string]*watcher.Watcher{}
	stops := map[string]context.CancelFunc{}
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b"} {
		w := watcher.New(watcher.Config{Store: st, Daemon: watcher.NewDaemon("http://"+c.Daemon.Address, 0), Notify: seen.notify(name),
			Name: "block-watcher/" + t.Name(), Poll: 200 * time.Millisecond, Standby: 300 * time.Millisecond})
		rctx, stop := context.WithCancel(ctx)
		replicas[name], stops[name] = w, stop
		wg.Go(func() { w.Run(rctx) })
	}
	t.Cleanup(func() {
		for _, stop := range stops {
			stop()
		}
		wg.Wait()
	})
	require.Eventually(t, func() bool { return replicas["a"].Leading() != replicas["b"].Leading() }, time.Minute, 50*time.Millisecond, "exactly one replica leads")

	const xmr = 1_000_000_000_000
	want := map[string]uint64{}
	outs := map[string]int{}
	pay := func(dests []walletrpc.Destination) string {
		t.Helper()
		_, err := c.FunderClient.Refresh(ctx, walletrpc.RefreshRequest{})
		require.NoError(t, err)
		res, err := c.FunderClient.Transfer(ctx, walletrpc.TransferRequest{Destinations: dests})
		require.NoError(t, err)
		for _, d := range dests {
			for _, w := range watched {
				if w.Address == d.Address {
					want[w.EscrowID] += d.Amount
					outs[w.EscrowID]++
				}
			}
		}
		return res.TxHash
	}
	to := func(i int, amount uint64) walletrpc.Destination {
		return walletrpc.Destination{Address: watched[i].Address, Amount: amount}
	}
	// One escrow paid twice in one transaction, two escrows and a decoy in one transaction,
	// then eight and ten escrows with a decoy each; w18 and w19 are never paid.
	pay([]walletrpc.Destination{to(0, xmr), to(0, xmr/2), to(1, 7*xmr/10), {Address: decoy(), Amount: xmr / 5}})
	d2 := []walletrpc.Destination{{Address: decoy(), Amount: xmr / 3}}
	for i := 2; i < 10; i++ {
		d2 = append(d2, to(i, uint64(i)*xmr/10))
	}
	pay(d2)
	d3 := []walletrpc.Destination{{Address: decoy(), Amount: xmr / 7}}
	for i := 10; i < 18; i++ {
		d3 = append(d3, to(i, uint64(i)*xmr/100))
	}
	pay(d3)

	matches := func(h uint64) func(map[string][]watcher.Seen) bool {
		return func(got map[string][]watcher.Seen) bool {
			for id, amount := range want {
				if sum, n := total(got[id], h); sum != amount || n != outs[id] {
					return false
				}
			}
			return true
		}
	}
	seen.waitFor(t, "every payment seen in the pool, before any block", matches(0))
	require.NoError(t, c.Mine(ctx, 1))
	mined, err := c.Height(ctx)
	require.NoError(t, err)
	seen.waitFor(t, "every payment seen again in its block, before the next one", matches(mined-1))
	seen.mu.Lock()
	for id, got := range seen.got {
		for _, x := range got {
			if x.Height == mined-1 || x.Height == 0 {
				continue
			}
			t.Errorf("%s reported at height %d, outside the pool and the one block mined", id, x.Height)
		}
	}
	assert.Empty(t, seen.got["w18"], "a watched escrow that was not paid hears nothing")
	assert.Empty(t, seen.got["w19"], "a watched escrow that was not paid hears nothing")
	assert.Len(t, seen.got, 18, "only the paid escrows are told")
	seen.mu.Unlock()

	// The leader stops (a crash or a deploy): the standby goes on from the last block.
	leader := "a"
	if replicas["b"].Leading() {
		leader = "b"
	}
	stops[leader]()
	standby := map[string]string{"a": "b", "b": "a"}[leader]
	require.Eventually(t, replicas[standby].Leading, time.Minute, 50*time.Millisecond, "the standby takes over")
	clear(want)
	clear(outs)
	tx := pay([]walletrpc.Destination{to(5, 3*xmr)})
	require.NoError(t, c.Mine(ctx, 1))
	popped, err := c.Height(ctx)
	require.NoError(t, err)
	popped--
	seen.waitFor(t, "the new leader reports the payment in its block", func(got map[string][]watcher.Seen) bool {
		sum, _ := total(got["w05"], popped)
		return sum == 3*xmr
	})
	assert.Equal(t, standby, seen.by[tx])

	// A reorg: the block is popped, its transaction goes back to the pool, and a new block
	// at the same height holds it again.
	old, err := st.ScannedBlocks(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, popped, old[0].Height)
	popBlocks(t, ctx, c, 1)
	seen.mu.Lock()
	seen.got["w05"] = nil
	seen.mu.Unlock()
	require.NoError(t, c.Mine(ctx, 2))
	seen.waitFor(t, "the payment is reported again from the new branch", func(got map[string][]watcher.Seen) bool {
		sum, _ := total(got["w05"], popped)
		return sum == 3*xmr
	})
	require.Eventually(t, func() bool {
		now, err := st.ScannedBlocks(ctx, 3)
		return err == nil && len(now) == 3 && now[1].Height == popped && now[1].Hash != old[0].Hash
	}, time.Minute, 100*time.Millisecond, "the scanned block at that height is the new branch's")
}

// watcherChain returns the regtest chain, a context ending after timeout (or with the test),
// a store on a fresh database, and the chain's height.
func watcherChain(t *testing.T, timeout time.Duration) (*devstack.Chain, context.Context, *store.Store, uint64) {
	t.Helper()
	c := regtest(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	st, err := schema.Open(ctx, storetest.NewDatabase(t), testKeys(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	height, err := c.Height(ctx)
	require.NoError(t, err)
	return c, ctx, st, height
}

// popBlocks removes the top n blocks of the regtest chain (monerod's /pop_blocks).
func popBlocks(t *testing.T, ctx context.Context, c *devstack.Chain, n int) {
	t.Helper()
	body, _ := json.Marshal(map[string]int{"nblocks": n})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.Daemon.Address+"/pop_blocks", bytes.NewReader(body))
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out struct {
		Status string `json:"status"`
		Height uint64 `json:"height"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	require.Equal(t, "OK", out.Status, "pop_blocks")
}

// TestAWatchedEscrowIsFundedByTheWatchersSignalNotItsPoll: an escrow on the real stack
// registers with the block watcher when it starts waiting, and its polls are an hour apart.
// The buyer first sends a time-locked payment, which the escrow reads off the sightings and
// asks no wallet about; then pays. The watcher sees the payment and the escrow asks its
// wallet at once, so it is funded one block later with no poll in between. Once funded it
// stays on the watcher, kept through the payout for its late-money watch.
func TestAWatchedEscrowIsFundedByTheWatchersSignalNotItsPoll(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st := ms.startWatched(ctx, t, "watched", 1)
	checks := st.Funding.Checks

	// A payment locked far beyond the normal lock (a coinbase, locked for 60 blocks: since
	// 0.18.3.4 no wallet sends a time-locked transfer): the watcher reports it with its
	// unlock_time in its block, and the escrow asks no wallet about it.
	locked, err := ms.chain.PayTimeLocked(ctx, st.Address)
	require.NoError(t, err)
	if !assert.Eventually(t, func() bool {
		st, err = ms.Starter.Status(ctx, "watched")
		return err == nil && slices.ContainsFunc(st.Funding.Watch.Seen, func(p escrow.PaymentSeen) bool { return !p.InPool && p.UnlockTime == locked.UnlockTime })
	}, 2*time.Minute, 200*time.Millisecond, "the time-locked payment is seen in its block") {
		t.Fatalf("funding %+v, watch %+v (%v)", st.Funding, *st.Funding.Watch, err)
	}
	assert.Equal(t, st.Funding.Watch.Signals, st.Funding.Watch.TimeLocked, "every sighting so far is time-locked")
	assert.Equal(t, checks, st.Funding.Checks, "a time-locked payment brings no wallet check forward")
	assert.Equal(t, escrow.StatusAwaitingFunding, st.Status)

	_, err = ms.chain.Pay(ctx, st.Address, price)
	require.NoError(t, err)
	require.NoError(t, ms.chain.Mine(ctx, 1))
	st, err = ms.Starter.WaitUntil(ctx, "watched", 200*time.Millisecond, func(st escrow.State) bool { return st.Status == escrow.StatusFunded })
	require.NoError(t, err)
	assert.Equal(t, uint64(price), st.Funding.ConfirmedAtomic, "the wallet's check decided")
	assert.GreaterOrEqual(t, st.Funding.Watch.Signals, 1, "the watcher told the escrow")
	assert.LessOrEqual(t, st.Funding.Checks-checks, 2, "one check per sighting of the real payment (pool, block), no hourly poll")
	st, err = ms.Starter.WaitUntil(ctx, "watched", 200*time.Millisecond, func(st escrow.State) bool { return st.Funding.Watch.Kept })
	require.NoError(t, err)
	assert.False(t, st.Funding.Watch.Unwatched, "kept through the payout, for the late-money watch")
	n, err := ms.Store.CountWatches(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n, "a funded escrow stays on the watcher")
	saveHistory(t, ms.Stack, "watched", "watched-time-locked")
}

// startWatched starts escrow id, whose payments count at confirmations (0: the default) and
// whose polls are an hour apart, and returns its status once it is registered with the block
// watcher and its funding wait's first check is done: later checks are the watcher's.
func (ms *moneyStack) startWatched(ctx context.Context, t *testing.T, id string, confirmations uint64) escrow.State {
	t.Helper()
	in := input(id, 0)
	in.AmountAtomic = price
	in.VendorPayoutAddress, in.BuyerRefundAddress = ms.vendor, ms.buyer
	in.Timing = escrow.Timing{FundingConfirmations: confirmations, FundingPoll: time.Hour, FundingPollMax: time.Hour, FundingWatchedPollMax: 6 * time.Hour}
	_, err := ms.Starter.Start(ctx, in)
	require.NoError(t, err)
	st, err := ms.Starter.WaitUntil(ctx, id, 200*time.Millisecond, func(st escrow.State) bool {
		return st.Funding.Watch != nil && (st.Funding.Watch.Registered || st.Funding.Watch.Failed != "") && st.Funding.Checks >= 1
	})
	require.NoError(t, err)
	require.True(t, st.Funding.Watch.Registered, "registered with the block watcher: %s", st.Funding.Watch.Failed)
	return st
}
