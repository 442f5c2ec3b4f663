package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// TestAWholeHostLostAfterFundingLeavesTwoKeysAndTheReleasePays runs three hosts of one
// wallet-rpc each, on the regtest chain. The setup puts one role on each host, so the
// assignment names three hosts and the sharing metric reads zero. After funding, the
// arbiter's host dies and its disk is wiped, as a lost machine would be. The buyer and
// vendor hold the two keys a release needs, on the two live hosts: the release pays the
// vendor in full, with no restore.
func TestAWholeHostLostAfterFundingLeavesTwoKeysAndTheReleasePays(t *testing.T) {
	c := regtest(t)
	ms := &moneyStack{Stack: startStackWith(t, stackOptions{rpcs: 1, chain: c}), chain: c}
	ms.vendor, ms.buyer = payeeAddresses(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bin := workerBinary(t, ctx, ms.Stack)
	root := t.TempDir()
	var hosts []*host
	for _, name := range []string{"host-a", "host-b", "host-c"} {
		hosts = append(hosts, startHost(t, ctx, ms.Stack, bin, name, filepath.Join(root, name),
			"--spawn-wallet-rpcs", "1", "--spawn-daemon-address", c.Daemon.Address, "--spawn-regtest-daemon"))
	}

	id := "spread"
	st := ms.fundedEscrow(t, ctx, id)
	require.NotNil(t, st.Assignment.Hosts, "the assignment says where each role lives")
	assert.False(t, st.Assignment.SharesHost(), "three hosts, one role each: %+v", st.Assignment.Hosts)
	var lost *host
	for _, h := range hosts {
		assert.True(t, h.touches(st.Assignment), "%s holds a key share", h.name)
		if h.touches(escrow.Assignment{Arbiter: st.Assignment.Arbiter}) {
			lost = h
		}
	}
	sharing, err := ms.Store.CountEscrowsSharingAHost(ctx)
	require.NoError(t, err)
	assert.Zero(t, sharing, "no escrow has two roles on one host")

	require.NoError(t, lost.proc.Kill())
	require.NoError(t, os.RemoveAll(lost.dir))
	gone := time.Now()
	ms.release(t, ctx, id)
	paid := ms.settle(t, ctx, id, escrow.StatusCompleted)
	ms.assertReceived(t, ctx, paid, ms.vendor)
	// The block watcher follows the payout from a live host's queue (the submitter's), not the
	// lost arbiter's, where FollowPayout would have waited out its deadline.
	require.NotNil(t, paid.Payout.Follow)
	assert.True(t, paid.Payout.Follow.Following, "the payout is followed: %+v", paid.Payout.Follow)
	t.Logf("arbiter's host %s lost; release paid by the other two in %.1f s", lost.name, time.Since(gone).Seconds())
}
