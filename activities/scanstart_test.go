package activities

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// wallet-rpc made the wallet while it could not ask monerod for the chain's height, so wallet2
// guessed its scan start from the clock: height 3,774,801 on a 620-block chain (0.18.5.3). Such a
// wallet never sees the buyer's payment. CreateWallet closes it, sets its files aside and
// fails retryably; the retry makes a good one, and nothing of the bad one is reused.
func TestAWalletMadeWithoutItsDaemonIsSetAsideAndMadeAgain(t *testing.T) {
	tw := newTestWallet(t)
	tw.w.daemon = walletrpc.NewDaemon(walletrpc.Config{URL: tw.url})
	tw.fake.answer(walletrpc.MethodGetInfo, walletrpc.GetInfoResult{Height: 620, Status: "OK"})
	tw.fake.answer(walletrpc.MethodPrepareMultisig, map[string]string{"multisig_info": "MultisigxV2-round0"})
	heights := []uint64{3_774_801, 620}
	tw.fake.handle(walletrpc.MethodGetHeight, func(json.RawMessage) (any, error) {
		h := heights[0]
		if len(heights) > 1 {
			// The first wallet's files, as wallet-rpc writes them.
			for _, f := range walletFiles(arbiterWallet) {
				require.NoError(t, os.WriteFile(filepath.Join(tw.w.dir, f), []byte("bad"), 0o600))
			}
			heights = heights[1:]
		}
		return walletrpc.GetHeightResult{Height: h}, nil
	})

	in := WalletInput{EscrowID: testEscrowID, Role: escrow.Arbiter}
	err := tw.exec(tw.w.CreateWallet, in, &CreateWalletResult{})
	requireRetryable(t, err)
	assert.ErrorContains(t, err, "starts scanning at height 3774801, past the chain's 620")
	assert.Contains(t, tw.fake.called(), walletrpc.MethodCloseWallet, "closed before its files move")
	for _, f := range walletFiles(arbiterWallet) {
		_, statErr := os.Stat(filepath.Join(tw.w.dir, f))
		assert.True(t, errors.Is(statErr, os.ErrNotExist), "%s set aside", f)
	}
	broken, _ := filepath.Glob(filepath.Join(tw.w.dir, ".broken", arbiterWallet+"-*", arbiterWallet+".keys"))
	assert.Len(t, broken, 1, "kept under .broken, not deleted")

	var out CreateWalletResult
	require.NoError(t, tw.exec(tw.w.CreateWallet, in, &out))
	assert.False(t, out.Reused, "made again, not the bad one reused")
	assert.Equal(t, "MultisigxV2-round0", out.Info)
}

// A wallet whose scan starts at the chain's top is kept, and a worker with no monerod to
// compare against keeps the wallet unchecked.
func TestAWalletMadeWithItsDaemonIsKept(t *testing.T) {
	tw := newTestWallet(t)
	tw.w.daemon = walletrpc.NewDaemon(walletrpc.Config{URL: tw.url})
	tw.fake.answer(walletrpc.MethodGetInfo, walletrpc.GetInfoResult{Height: 620, Status: "OK"})
	tw.fake.answer(walletrpc.MethodGetHeight, walletrpc.GetHeightResult{Height: 620})
	require.NoError(t, tw.exec(tw.w.CreateWallet, WalletInput{EscrowID: testEscrowID, Role: escrow.Arbiter}, &CreateWalletResult{}))
	assert.NotContains(t, tw.fake.called(), walletrpc.MethodCloseWallet)

	tw = newTestWallet(t) // no daemon
	require.NoError(t, tw.exec(tw.w.CreateWallet, WalletInput{EscrowID: testEscrowID, Role: escrow.Arbiter}, &CreateWalletResult{}))
	assert.NotContains(t, tw.fake.called(), walletrpc.MethodGetHeight)
}

// A wallet made while monerod turned its wallet-rpc away looks right until its first refresh
// (height 1 after create_wallet, 3,774,801 after the refresh: measured on 0.18.5.3 with monerod's
// private-IP connections all taken). VerifyMultisig runs that refresh on the finished wallet and
// fails the setup before the address can go out: non-retryably, since the guess is in the keys
// file, and before the wallet is backed up as Ready.
func TestAWalletThatWouldNeverSeeThePaymentNeverHandsOutItsAddress(t *testing.T) {
	tw := newTestWallet(t)
	backups := &fakeBackups{}
	tw.w.backups = backups
	tw.w.daemon = walletrpc.NewDaemon(walletrpc.Config{URL: tw.url})
	readyWallet(t, tw)
	tw.fake.answer(walletrpc.MethodGetInfo, walletrpc.GetInfoResult{Height: 620, Status: "OK"})
	tw.fake.answer(walletrpc.MethodRefresh, walletrpc.RefreshResult{}) // wallet2 logs the failure and reports success
	tw.fake.answer(walletrpc.MethodGetHeight, walletrpc.GetHeightResult{Height: 3_774_801})

	err := tw.exec(tw.w.VerifyMultisig, WalletInput{EscrowID: testEscrowID, Role: escrow.Arbiter}, &VerifyResult{})
	appErr := appError(t, err)
	assert.Equal(t, escrow.ErrTypeScanStart, appErr.Type())
	assert.True(t, appErr.NonRetryable(), "the guess is in the keys file: a retry cannot mend it")
	assert.ErrorContains(t, err, "scans from height 3774801, past the chain's 620")
	assert.Empty(t, backups.puts, "not backed up as Ready")
	calls := tw.fake.called()
	assert.Less(t, slices.Index(calls, walletrpc.MethodRefresh), slices.Index(calls, walletrpc.MethodGetHeight), "the height is read after the refresh")
}

// A finished wallet that scans from the chain's top passes after one refresh, which the funding
// wait would otherwise make first; a refresh that failed on it is retried. With no monerod to
// compare against, the wallet is kept and not refreshed, as at creation.
func TestAFinishedWalletThatSeesTheChainIsVerified(t *testing.T) {
	tw := newTestWallet(t)
	tw.w.daemon = walletrpc.NewDaemon(walletrpc.Config{URL: tw.url})
	readyWallet(t, tw)
	tw.fake.answer(walletrpc.MethodGetInfo, walletrpc.GetInfoResult{Height: 620, Status: "OK"})
	tw.fake.answer(walletrpc.MethodRefresh, walletrpc.RefreshResult{})
	tw.fake.answer(walletrpc.MethodGetHeight, walletrpc.GetHeightResult{Height: 620})
	var out VerifyResult
	require.NoError(t, tw.exec(tw.w.VerifyMultisig, WalletInput{EscrowID: testEscrowID, Role: escrow.Arbiter}, &out))
	assert.True(t, out.Ready)
	assert.Equal(t, []string{walletrpc.MethodRefresh}, slices.DeleteFunc(tw.fake.called(), func(m string) bool { return m != walletrpc.MethodRefresh }), "one refresh")

	tw.fake.fail(walletrpc.MethodRefresh, walletrpc.CodeNoDaemonConnection, "no connection to daemon")
	requireRetryable(t, tw.exec(tw.w.VerifyMultisig, WalletInput{EscrowID: testEscrowID, Role: escrow.Arbiter}, &VerifyResult{}))

	tw = newTestWallet(t) // no daemon
	readyWallet(t, tw)
	require.NoError(t, tw.exec(tw.w.VerifyMultisig, WalletInput{EscrowID: testEscrowID, Role: escrow.Arbiter}, &out))
	assert.NotContains(t, tw.fake.called(), walletrpc.MethodRefresh)
}
