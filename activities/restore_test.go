package activities

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/keyring"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// escrowAddress is the multisig address the escrow's history records.
const escrowAddress = "5-the-escrows-multisig-address"

// restorable is a test wallet whose backups hold the arbiter's keys file at Ready, and whose
// wallet-rpc shows the escrow's address for whatever it opens.
func restorable(t *testing.T) (*testWallet, *fakeBackups, []byte) {
	t.Helper()
	tw := newTestWallet(t)
	keys := []byte("the arbiter's keys file from the host that lost its disk")
	backups := &fakeBackups{}
	backups.store(store.WalletBackup{EscrowID: testEscrowID, Role: escrow.Arbiter, Stage: BackupStageReady, Instance: "lost", Keys: keys})
	tw.w.backups = backups
	tw.fake.setLabel(arbiterWallet, "") // attributes live in the cache, which a restore does not write
	tw.fake.answer(walletrpc.MethodGetAddress, map[string]any{"address": escrowAddress})
	return tw, backups, keys
}

func (tw *testWallet) restore() (RestoreResult, error) {
	var out RestoreResult
	err := tw.exec(tw.w.RestoreWallet, RestoreInput{EscrowID: testEscrowID, Role: escrow.Arbiter, Address: escrowAddress}, &out)
	return out, err
}

func (tw *testWallet) keysPath() string { return filepath.Join(tw.w.dir, arbiterWallet+".keys") }

// dirNames lists the instance's wallet dir.
func (tw *testWallet) dirNames(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(tw.w.dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func requireRestoreRefused(t *testing.T, err error) {
	t.Helper()
	appErr := appError(t, err)
	require.Equal(t, escrow.ErrTypeRestoreRefused, appErr.Type(), "%v", err)
	require.True(t, appErr.NonRetryable())
}

func TestARestoreWritesTheBackupAndChecksTheAddress(t *testing.T) {
	tw, _, keys := restorable(t)
	out, err := tw.restore()
	require.NoError(t, err)
	assert.Equal(t, RestoreResult{Instance: "fake", Stage: BackupStageReady, Restored: true, Opens: 1}, out)

	got, err := os.ReadFile(tw.keysPath())
	require.NoError(t, err)
	assert.Equal(t, keys, got)
	info, err := os.Stat(tw.keysPath())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	assert.Equal(t, []string{arbiterWallet + ".keys"}, tw.dirNames(t), "no temporary file left, no cache written")

	assert.Equal(t, []string{
		walletrpc.MethodCloseWallet,                            // whatever was open, before the file appears
		walletrpc.MethodOpenWallet, walletrpc.MethodGetAddress, // checked before anything else
		walletrpc.MethodSetAttribute, walletrpc.MethodStore, // labelled
		walletrpc.MethodGetAttribute, walletrpc.MethodRefresh, walletrpc.MethodStore,
	}, tw.fake.called())
	var open walletrpc.OpenWalletRequest
	require.NoError(t, json.Unmarshal(tw.fake.paramsOf(walletrpc.MethodOpenWallet)[0], &open))
	assert.Equal(t, walletrpc.OpenWalletRequest{Filename: arbiterWallet, Password: tw.w.password(arbiterWallet)}, open)
	assert.NotContains(t, string(tw.fake.paramsOf(walletrpc.MethodRefresh)[0]), "start_height")

	logs := tw.logs.String()
	assert.Contains(t, logs, "restored wallet from its backup")
	assert.Contains(t, logs, "stage=4")
	assert.NotContains(t, logs, string(keys))
	assert.NotContains(t, logs, tw.w.password(arbiterWallet))
}

func TestARestoreOntoAnInstanceHoldingAnotherWalletOfThatNameOverwritesNothing(t *testing.T) {
	for name, script := range map[string]func(f *fakeRPC){
		"another address": func(f *fakeRPC) {
			f.answer(walletrpc.MethodGetAddress, map[string]any{"address": "5-some-other-wallet-address"})
		},
		"does not open with the derived password": func(f *fakeRPC) {
			f.fail(walletrpc.MethodOpenWallet, walletrpc.CodeUnknown, "Failed to open wallet")
		},
	} {
		t.Run(name, func(t *testing.T) {
			tw, backups, _ := restorable(t)
			other := []byte("another wallet's keys file")
			require.NoError(t, os.WriteFile(tw.keysPath(), other, 0o600))
			script(tw.fake)

			_, err := tw.restore()
			requireRestoreRefused(t, err)
			assert.ErrorContains(t, err, "instance fake already holds a wallet named "+arbiterWallet+" that is not escrow esc-1's arbiter wallet")
			assert.ErrorContains(t, err, "nothing was overwritten")
			got, rerr := os.ReadFile(tw.keysPath())
			require.NoError(t, rerr)
			assert.Equal(t, other, got)
			assert.Zero(t, backups.gets, "the backup is not even read")
			assert.NotContains(t, tw.fake.called(), walletrpc.MethodRefresh)
		})
	}
}

// TestARestoreThatLosesTheRaceForTheNameOverwritesNothing: a file that appears under the
// wallet's name while the backup is read is judged as one that was there before.
func TestARestoreThatLosesTheRaceForTheNameOverwritesNothing(t *testing.T) {
	tw, backups, _ := restorable(t)
	other := []byte("a late wallet's keys file")
	backups.onGet = func() { require.NoError(t, os.WriteFile(tw.keysPath(), other, 0o600)) }
	tw.fake.answer(walletrpc.MethodGetAddress, map[string]any{"address": "5-some-other-wallet-address"})

	_, err := tw.restore()
	requireRestoreRefused(t, err)
	assert.ErrorContains(t, err, "nothing was overwritten")
	got, rerr := os.ReadFile(tw.keysPath())
	require.NoError(t, rerr)
	assert.Equal(t, other, got)
	assert.Equal(t, []string{arbiterWallet + ".keys"}, tw.dirNames(t), "the temporary file is gone")
}

func TestABackupOfAnotherWalletIsRefusedAndRemoved(t *testing.T) {
	for name, tc := range map[string]struct {
		script func(f *fakeRPC)
		want   string
	}{
		"another address": {
			script: func(f *fakeRPC) {
				f.answer(walletrpc.MethodGetAddress, map[string]any{"address": "5-another-wallet-whose-backup-this-is"})
			},
			want: "backup of escrow esc-1 role arbiter has address 5-another-wa…, the escrow's is 5-the-escrow…; removed what was written",
		},
		"does not open with the derived password": {
			script: func(f *fakeRPC) { f.fail(walletrpc.MethodOpenWallet, walletrpc.CodeUnknown, "Failed to open wallet") },
			want:   "does not open with the password derived for " + arbiterWallet,
		},
	} {
		t.Run(name, func(t *testing.T) {
			tw, _, _ := restorable(t)
			tc.script(tw.fake)
			_, err := tw.restore()
			requireRestoreRefused(t, err)
			assert.ErrorContains(t, err, tc.want)
			assert.Empty(t, tw.dirNames(t), "nothing of the refused wallet is left")
			for _, m := range []string{walletrpc.MethodSetAttribute, walletrpc.MethodRefresh, walletrpc.MethodStore} {
				assert.NotContains(t, tw.fake.called(), m)
			}
			closes := tw.fake.paramsOf(walletrpc.MethodCloseWallet)
			require.Len(t, closes, 2)
			assert.JSONEq(t, `{"autosave_current":false}`, string(closes[1]), "the refused wallet is closed unsaved")
		})
	}
}

// TestARefusedRestoreRemovesTheCacheItMadeAndKeepsOneItDidNot: wallet-rpc may write a cache
// next to the keys; only a cache that was not there before the restore is removed.
func TestARefusedRestoreRemovesTheCacheItMadeAndKeepsOneItDidNot(t *testing.T) {
	for _, before := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache before: %v", before), func(t *testing.T) {
			tw, _, _ := restorable(t)
			cache := filepath.Join(tw.w.dir, arbiterWallet)
			if before {
				require.NoError(t, os.WriteFile(cache, []byte("a cache of unknown origin"), 0o600))
			}
			tw.fake.handle(walletrpc.MethodOpenWallet, func(json.RawMessage) (any, error) {
				return struct{}{}, os.WriteFile(cache, []byte("cache written by the open"), 0o600)
			})
			tw.fake.answer(walletrpc.MethodGetAddress, map[string]any{"address": "5-another-wallet-whose-backup-this-is"})
			_, err := tw.restore()
			requireRestoreRefused(t, err)
			assert.NoFileExists(t, tw.keysPath())
			if before {
				assert.FileExists(t, cache)
			} else {
				assert.NoFileExists(t, cache)
			}
		})
	}
}

func TestARetriedRestoreFindsItsWalletAndSucceeds(t *testing.T) {
	tw, backups, keys := restorable(t)
	tw.fake.fail(walletrpc.MethodRefresh, walletrpc.CodeNoDaemonConnection, "No connection to daemon")
	_, err := tw.restore()
	requireRetryable(t, err)

	tw.fake.answer(walletrpc.MethodRefresh, map[string]any{"blocks_fetched": 10})
	n := len(tw.fake.called())
	out, err := tw.restore()
	require.NoError(t, err)
	assert.Equal(t, RestoreResult{Instance: "fake", Restored: false, Opens: 0}, out)
	assert.Equal(t, 1, backups.gets, "the retry reads no backup")
	assert.Equal(t, []string{
		walletrpc.MethodGetAttribute, walletrpc.MethodGetAttribute, walletrpc.MethodGetAddress,
		walletrpc.MethodGetAttribute, walletrpc.MethodRefresh, walletrpc.MethodStore,
	}, tw.fake.since(n), "the retry checks the wallet, then finishes the refresh and store")
	got, err := os.ReadFile(tw.keysPath())
	require.NoError(t, err)
	assert.Equal(t, keys, got)
}

func TestARestoreWithoutABackupIsRefused(t *testing.T) {
	t.Run("none stored", func(t *testing.T) {
		tw, backups, _ := restorable(t)
		backups.stored = nil
		_, err := tw.restore()
		requireRestoreRefused(t, err)
		assert.ErrorContains(t, err, "no backup of escrow esc-1 role arbiter")
		assert.Empty(t, tw.dirNames(t))
		assert.Empty(t, tw.fake.called())
	})
	t.Run("a participant's own worker", func(t *testing.T) {
		tw, _, _ := restorable(t)
		tw.w.backups = nil
		_, err := tw.restore()
		requireRestoreRefused(t, err)
		assert.ErrorContains(t, err, "has no backups")
		assert.Empty(t, tw.fake.called())
	})
}

func TestACorruptBackupIsRefused(t *testing.T) {
	for _, cause := range []error{store.ErrBackupCorrupt, keyring.ErrDecrypt, keyring.ErrUnknownKey} {
		t.Run(cause.Error(), func(t *testing.T) {
			tw, backups, keys := restorable(t)
			backups.getErr = fmt.Errorf("store: get wallet backup of escrow %q role arbiter: %w", testEscrowID, cause)
			_, err := tw.restore()
			requireRestoreRefused(t, err)
			assert.ErrorContains(t, err, cause.Error())
			assert.NotContains(t, err.Error(), string(keys))
			assert.Empty(t, tw.dirNames(t))
			assert.Empty(t, tw.fake.called())
		})
	}
}

func TestARestoreWithTheDatabaseDownIsRetried(t *testing.T) {
	tw, backups, _ := restorable(t)
	backups.getErr = errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")
	_, err := tw.restore()
	requireRetryable(t, err)
	assert.ErrorContains(t, err, "connection refused")
	assert.Empty(t, tw.dirNames(t))
	assert.Empty(t, tw.fake.called())
}

func TestARestoreWithBadInputIsInvalid(t *testing.T) {
	tw, _, _ := restorable(t)
	for _, in := range []RestoreInput{
		{EscrowID: testEscrowID, Role: escrow.Arbiter},
		{EscrowID: testEscrowID, Role: "judge", Address: escrowAddress},
		{EscrowID: "../esc", Role: escrow.Arbiter, Address: escrowAddress},
	} {
		var out RestoreResult
		err := tw.exec(tw.w.RestoreWallet, in, &out)
		assert.Equal(t, escrow.ErrTypeInvalidInput, appError(t, err).Type(), "%+v", in)
	}
	assert.Empty(t, tw.fake.called())
}
