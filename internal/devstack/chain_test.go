package devstack

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/walletproc/proctest"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

func TestMonerodRegtest(t *testing.T) {
	proctest.SkipShort(t)
	t.Parallel()
	rpcPort, err := FreePort()
	require.NoError(t, err)
	zmqPort, err := FreePort()
	require.NoError(t, err)

	start := time.Now()
	m, err := StartMonerod(t.Context(), MonerodOptions{Dir: t.TempDir(), RPCPort: rpcPort, ZMQPort: zmqPort})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Stop() })
	t.Logf("monerod pid %d ready in %s", m.Proc.Pid(), time.Since(start))
	assert.Equal(t, rpcPort, m.RPCPort)
	assert.Equal(t, "127.0.0.1:"+strconv.Itoa(rpcPort), m.Address)
	assert.Equal(t, "http://"+m.Address, m.URL)
	proctest.AssertListening(t, rpcPort)
	proctest.AssertListening(t, zmqPort)

	d := m.RPC()
	info, err := d.GetInfo(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "fakechain", info.Nettype, "regtest")
	assert.True(t, info.Offline)
	assert.Equal(t, uint64(1), info.Height, "a fresh regtest chain holds only the genesis block")

	_, err = d.GenerateBlocks(t.Context(), walletrpc.GenerateBlocksRequest{AmountOfBlocks: 1, WalletAddress: "not-an-address"})
	code, ok := walletrpc.Code(err)
	assert.True(t, ok && code == -4, "bad wallet address: want monerod code -4, got %v", err)

	require.NoError(t, m.Stop())
	require.NoError(t, m.Stop(), "Stop is idempotent")
	proctest.AssertGone(t, m.Proc.Pid())
	proctest.AssertNotListening(t, rpcPort)
}

func TestStartChainRefusesTooFewBlocks(t *testing.T) {
	_, err := StartChain(t.Context(), t.TempDir(), MinFundedBlocks-1)
	require.ErrorContains(t, err, "no coinbase unlocked")
}

func TestChainFundsMinesAndPays(t *testing.T) {
	proctest.SkipShort(t)
	t.Parallel()
	start := time.Now()
	c, err := StartChain(t.Context(), t.TempDir(), SpendableBlocks)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Stop() })
	t.Logf("chain of %d blocks funded in %s", SpendableBlocks, time.Since(start))

	h, err := c.Height(t.Context())
	require.NoError(t, err)
	assert.Equal(t, uint64(SpendableBlocks+1), h, "genesis + mined blocks")
	bal, err := c.FunderClient.GetBalance(t.Context(), walletrpc.GetBalanceRequest{})
	require.NoError(t, err)
	assert.Positive(t, bal.UnlockedBalance)

	const amount = 1_000_000_000_000
	start = time.Now()
	txid, err := c.Pay(t.Context(), c.FunderAddress, amount)
	require.NoError(t, err)
	t.Logf("pay: %s", time.Since(start))
	require.Len(t, txid, 64)

	start = time.Now()
	require.NoError(t, c.Mine(t.Context(), 3))
	t.Logf("mine 3: %s", time.Since(start))
	h2, err := c.Height(t.Context())
	require.NoError(t, err)
	assert.Equal(t, h+3, h2)

	_, err = c.FunderClient.Refresh(t.Context(), walletrpc.RefreshRequest{})
	require.NoError(t, err)
	got, err := c.FunderClient.GetTransferByTxID(t.Context(), walletrpc.GetTransferByTxIDRequest{TxID: txid})
	require.NoError(t, err)
	assert.Equal(t, uint64(3), got.Transfer.Confirmations)
	assert.Equal(t, h, got.Transfer.Height, "mined into the first new block")

	require.NoError(t, c.Stop())
	proctest.AssertGone(t, c.Daemon.Proc.Pid())
	proctest.AssertGone(t, c.Funder.Proc.Pid())
}
