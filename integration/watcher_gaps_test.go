package integration

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/watcher"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// TestALeaderStoppedBeforeItCouldSignalLosesNoPayment: on the regtest chain, the leader sees
// a payment in the pool and in its block but cannot signal it (Temporal down for it), and is
// stopped. The same transaction paid an escrow that registered only then, margin blocks back,
// which the stopped leader never knew. The standby leads, delivers the kept notices and
// backfills the new registration: nothing is left to the escrows' safety-net poll.
func TestALeaderStoppedBeforeItCouldSignalLosesNoPayment(t *testing.T) {
	c, ctx, st, height := watcherChain(t, 5*time.Minute)
	early, late := watchedAddress(t, "early", height), watchedAddress(t, "late", 0)
	require.NoError(t, st.RegisterWatch(ctx, early))

	seen := &sightings{got: map[string][]watcher.Seen{}, by: map[string]string{}}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	start := func(name string, notify func(context.Context, string, watcher.Seen) error) (*watcher.Watcher, context.CancelFunc) {
		w := watcher.New(watcher.Config{Store: st, Daemon: watcher.NewDaemon("http://"+c.Daemon.Address, 0), Notify: notify,
			Name: "block-watcher/" + t.Name(), Poll: 200 * time.Millisecond, Standby: 300 * time.Millisecond})
		rctx, stop := context.WithCancel(ctx)
		wg.Go(func() { w.Run(rctx) })
		return w, stop
	}
	down := func(context.Context, string, watcher.Seen) error { return errors.New("temporal is down") }
	a, stopA := start("a", down)
	t.Cleanup(stopA)
	require.Eventually(t, a.Leading, time.Minute, 50*time.Millisecond, "a leads")

	const xmr = 1_000_000_000_000
	_, err := c.FunderClient.Refresh(ctx, walletrpc.RefreshRequest{})
	require.NoError(t, err)
	_, err = c.FunderClient.Transfer(ctx, walletrpc.TransferRequest{Destinations: []walletrpc.Destination{
		{Address: early.Address, Amount: xmr}, {Address: late.Address, Amount: 2 * xmr}}})
	require.NoError(t, err)
	kept := func(n int) func() bool {
		return func() bool {
			got, err := st.Notices(ctx, 10)
			return err == nil && len(got) == n
		}
	}
	require.Eventually(t, kept(1), time.Minute, 100*time.Millisecond, "the pool sighting is kept")
	require.NoError(t, c.Mine(ctx, 1))
	require.Eventually(t, kept(2), time.Minute, 100*time.Millisecond, "the block's sighting is kept with the block")
	notices, err := st.Notices(ctx, 10)
	require.NoError(t, err)
	mined := max(notices[0].Height, notices[1].Height) // the chain is shared: read the block's height off the notice
	stopA()
	require.Eventually(t, func() bool { return !a.Leading() }, time.Minute, 50*time.Millisecond)
	scanned, err := st.ScannedBlocks(ctx, 1)
	require.NoError(t, err)
	require.GreaterOrEqual(t, scanned[0].Height, mined, "the stopped leader recorded the block as scanned")

	// The late escrow registers now, as RegisterWatch does: margin blocks below its wallet.
	late.FromHeight = mined + 1 - min(mined+1, 10)
	require.NoError(t, st.RegisterWatch(ctx, late))
	b, stopB := start("b", seen.notify("b"))
	t.Cleanup(stopB)
	require.Eventually(t, b.Leading, time.Minute, 50*time.Millisecond, "b leads")
	seen.waitFor(t, "b delivers a's kept notices and backfills the late registration", func(got map[string][]watcher.Seen) bool {
		pool, _ := total(got["early"], 0)
		block, _ := total(got["early"], mined)
		backfilled, _ := total(got["late"], mined)
		return pool == xmr && block == xmr && backfilled == 2*xmr
	})
	require.Eventually(t, kept(0), time.Minute, 100*time.Millisecond, "delivered notices are deleted")
	pending, err := st.PendingBackfills(ctx)
	require.NoError(t, err)
	assert.Empty(t, pending, "the backfill is recorded")
}
