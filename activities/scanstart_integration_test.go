package activities

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// A monerod that takes few RPC connections turns wallet-rpc away while all of them are held:
// the wallets made in that moment guess their scan start from the clock (3,774,800 on a
// 31-block regtest chain) and would never see the buyer's payment. Their setup runs to the
// end, and VerifyMultisig refuses every one of them, non-retryably, before the address can go
// out. Wallets made once the connections are free pass the same check on the same monerod.
func TestWalletsMadeWhileMonerodTurnsThemAwayNeverHandOutTheirAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs real monerod and monero-wallet-rpc processes (drop -short to run it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const conns = 8 // monerod's defaults are 25 per private IP; fewer keeps the test light
	d, err := devstack.StartMonerod(ctx, devstack.MonerodOptions{Dir: t.TempDir(), RPCConnections: conns})
	require.NoError(t, err, "start monerod (make test installs monero)")
	t.Cleanup(func() { _ = d.Stop() })
	daemon := d.RPC()
	_, err = daemon.GenerateBlocks(ctx, walletrpc.GenerateBlocksRequest{AmountOfBlocks: 30, WalletAddress: minerAddress})
	require.NoError(t, err)
	roles := startRolesWith(t, devstack.WalletRPCOptions{
		DaemonAddress: d.Address, RegtestDaemon: true, ExtraArgs: []string{"--daemon-ssl", "disabled"},
	}, daemon)

	release := holdConnections(t, d.Address)
	turnedAway := setUpWallets(t, roles, "turned-away")
	assert.Len(t, turnedAway, escrow.AddressLength, "the setup itself runs to the end")
	for _, r := range roles {
		_, err := r.env.ExecuteActivity(r.w.VerifyMultisig, WalletInput{EscrowID: "turned-away", Role: r.role})
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), "%s: the wallet made while monerod turned it away is refused (got %v)", r.role, err)
		assert.Equal(t, escrow.ErrTypeScanStart, appErr.Type(), "%s: %v", r.role, err)
		assert.True(t, appErr.NonRetryable(), "%s", r.role)
	}
	release()

	setUpWallets(t, roles, "made-in-time")
	for _, r := range roles {
		v := run[VerifyResult](t, r, r.w.VerifyMultisig, WalletInput{EscrowID: "made-in-time", Role: r.role})
		assert.True(t, v.Ready, "%s", r.role)
		h, err := r.w.rpc.GetHeight(ctx)
		require.NoError(t, err)
		assert.Equal(t, uint64(31), h.Height, "%s: verified after its first refresh, at the chain's top", r.role)
	}
}

// minerAddress takes the test chain's coinbase (a valid mainnet address; nobody spends it).
const minerAddress = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"

// holdConnections takes every RPC connection monerod has left (it accepts one past its limit
// and closes it at once) and keeps them until release. The daemon client's own idle connection,
// made before, stays: the activities still reach monerod, their wallet-rpcs do not.
func holdConnections(t *testing.T, addr string) (release func()) {
	t.Helper()
	var held []net.Conn
	release = func() {
		for _, c := range held {
			_ = c.Close()
		}
		held = nil
	}
	t.Cleanup(release)
	for len(held) < 1000 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); errors.Is(err, io.EOF) {
			_ = c.Close()
			return release
		}
		held = append(held, c)
	}
	t.Fatalf("monerod took %d idle connections and turned none away", len(held))
	return release
}

// setUpWallets runs a whole setup for escrow id, once per step, and returns the last round's
// address.
func setUpWallets(t *testing.T, roles []*roleEnv, id string) string {
	t.Helper()
	infos := createAndPrepare(t, roles, id, 1)
	var addr string
	var mu sync.Mutex
	for round := 1; round <= escrow.Rounds; round++ {
		next := map[escrow.Role]string{}
		parallel(roles, func(r *roleEnv) {
			fn := r.w.ExchangeMultisigKeys
			if round == 1 {
				fn = r.w.MakeMultisig
			}
			res := run[RoundResult](t, r, fn, RoundInput{EscrowID: id, Role: r.role, Round: round, Infos: others(infos, r.role)})
			mu.Lock()
			next[r.role], addr = res.Info, res.Address
			mu.Unlock()
		})
		infos = next
	}
	return addr
}
