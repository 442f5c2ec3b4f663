package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// fakeBackups records the backups it is given, or refuses them all with err. Get answers
// from stored (by escrow ID and role), or fails with getErr.
type fakeBackups struct {
	puts []store.WalletBackup
	err  error

	stored map[string]store.WalletBackup
	getErr error
	gets   int
	onGet  func() // runs inside each Get, to model what happens meanwhile
}

// store keeps b for Get.
func (f *fakeBackups) store(b store.WalletBackup) {
	if f.stored == nil {
		f.stored = map[string]store.WalletBackup{}
	}
	f.stored[b.EscrowID+"/"+string(b.Role)] = b
}

func (f *fakeBackups) GetWalletBackup(_ context.Context, escrowID string, role escrow.Role) (store.WalletBackup, error) {
	f.gets++
	if f.onGet != nil {
		f.onGet()
	}
	if f.getErr != nil {
		return store.WalletBackup{}, f.getErr
	}
	b, ok := f.stored[escrowID+"/"+string(role)]
	if !ok {
		return store.WalletBackup{}, fmt.Errorf("store: get wallet backup of escrow %q role %s: %w", escrowID, role, store.ErrNoBackup)
	}
	// A copy, as the store opens a fresh one each time: the caller clears it after use.
	b.Keys = append([]byte(nil), b.Keys...)
	return b, nil
}

func (f *fakeBackups) PutWalletBackup(_ context.Context, b store.WalletBackup) (bool, error) {
	if f.err != nil {
		return false, f.err
	}
	b.Keys = append([]byte(nil), b.Keys...)
	f.puts = append(f.puts, b)
	return true, nil
}

// readyWallet scripts a finished multisig wallet for the arbiter and puts its keys file in
// the instance's dir.
func readyWallet(t *testing.T, tw *testWallet) []byte {
	t.Helper()
	tw.fake.answer(walletrpc.MethodIsMultisig, map[string]any{"multisig": true, "ready": true, "threshold": 2, "total": 3})
	tw.fake.answer(walletrpc.MethodGetAddress, map[string]any{"address": "5-the-multisig-address"})
	keys := []byte("the keys file, encrypted by the wallet password")
	require.NoError(t, os.WriteFile(filepath.Join(tw.w.dir, escrow.WalletName(testEscrowID, escrow.Arbiter)+".keys"), keys, 0o600))
	return keys
}

// TestAReadyWalletIsBackedUpBeforeVerifyReportsIt: the keys file as it is on disk reaches
// the backups, at the Ready stage, from the instance that holds it.
func TestAReadyWalletIsBackedUpBeforeVerifyReportsIt(t *testing.T) {
	tw := newTestWallet(t)
	backups := &fakeBackups{}
	tw.w.backups = backups
	keys := readyWallet(t, tw)
	var out VerifyResult
	require.NoError(t, tw.exec(tw.w.VerifyMultisig, WalletInput{EscrowID: testEscrowID, Role: escrow.Arbiter}, &out))
	require.Len(t, backups.puts, 1)
	b := backups.puts[0]
	assert.Equal(t, testEscrowID, b.EscrowID)
	assert.Equal(t, escrow.Arbiter, b.Role)
	assert.Equal(t, BackupStageReady, b.Stage)
	assert.Equal(t, "fake", b.Instance)
	assert.Equal(t, keys, b.Keys)
}

// TestASetupStepWhoseBackupFailsDoesNotReportSuccess: with the database down, the step
// fails retryably, so no reported state exists without its backup.
func TestASetupStepWhoseBackupFailsDoesNotReportSuccess(t *testing.T) {
	tw := newTestWallet(t)
	tw.w.backups = &fakeBackups{err: errors.New("connection refused")}
	readyWallet(t, tw)
	var out VerifyResult
	err := tw.exec(tw.w.VerifyMultisig, WalletInput{EscrowID: testEscrowID, Role: escrow.Arbiter}, &out)
	require.ErrorContains(t, err, "back up escrow-")
	requireRetryable(t, err)
}
