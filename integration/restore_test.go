package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// loseWallet destroys a role's wallet as a lost disk would: its wallet-rpc dies (so no copy
// survives in memory) and every file of the wallet in its dir is gone.
func (ms *moneyStack) loseWallet(t *testing.T, st escrow.State, role escrow.Role) {
	t.Helper()
	instance := st.Assignment.For(role)
	require.NoError(t, ms.Pool.Kill(instance))
	dir := walletDir(t, ms.Stack, instance)
	files, err := filepath.Glob(filepath.Join(dir, escrow.WalletName(st.EscrowID, role)+"*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		require.NoError(t, os.RemoveAll(f))
	}
	require.NoError(t, os.RemoveAll(filepath.Join(dir, ".snapshots")))
	require.Eventually(t, func() bool { return ms.Pool.Healthy(instance) }, time.Minute, 100*time.Millisecond, "the instance comes back, empty")
}

// TestALostWalletIsRestoredFromItsBackupAndTheReleasePays: after funding, the disk holding
// the vendor's wallet is lost. Two hostile restores are refused and overwrite nothing: a
// backup row swapped in from another role, and a target instance that already holds a
// wallet under the vendor's name. Then the vendor's wallet is restored from its backup onto
// the buyer's instance, and the release pays the vendor in full.
func TestALostWalletIsRestoredFromItsBackupAndTheReleasePays(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	id := "lost-disk"
	st := ms.fundedEscrow(t, ctx, id)
	ms.loseWallet(t, st, escrow.Vendor)
	lost := time.Now()
	restore := func(role escrow.Role, to string) (escrow.State, error) {
		return ms.Starter.RestoreWallet(ctx, id, escrow.RestoreWalletInput{Operator: "ops-test", Role: role, Instance: to})
	}

	// A backup row swapped in from another role does not open: each is sealed to its escrow
	// and role. (The arbiter's row gets the vendor's copy; the arbiter's wallet is not lost.)
	_, err := ms.Store.DB().ExecContext(ctx, `UPDATE wallet_backups SET keys_enc = b.keys_enc, keys_sha256 = b.keys_sha256
		FROM wallet_backups b WHERE wallet_backups.escrow_id = $1 AND wallet_backups.role = 'arbiter' AND b.escrow_id = $1 AND b.role = 'vendor'`, id)
	require.NoError(t, err)
	_, err = restore(escrow.Arbiter, st.Assignment.Buyer)
	require.Error(t, err, "a swapped backup is refused")
	assert.Contains(t, err.Error(), "RestoreRefused")
	_, statErr := os.Stat(filepath.Join(walletDir(t, ms.Stack, st.Assignment.Buyer), escrow.WalletName(id, escrow.Arbiter)+".keys"))
	assert.True(t, os.IsNotExist(statErr), "nothing was written")

	// An instance that already holds a wallet under the vendor's name is never overwritten.
	arbiterDir := walletDir(t, ms.Stack, st.Assignment.Arbiter)
	planted := filepath.Join(arbiterDir, escrow.WalletName(id, escrow.Vendor)+".keys")
	other, err := os.ReadFile(filepath.Join(arbiterDir, escrow.WalletName(id, escrow.Arbiter)+".keys"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(planted, other, 0o600))
	_, err = restore(escrow.Vendor, st.Assignment.Arbiter)
	require.Error(t, err, "a restore onto another wallet of that name is refused")
	assert.Contains(t, err.Error(), "nothing was overwritten")
	after, err := os.ReadFile(planted)
	require.NoError(t, err)
	assert.Equal(t, other, after, "the planted wallet is untouched")

	// The real restore, onto the buyer's instance.
	restored, err := restore(escrow.Vendor, st.Assignment.Buyer)
	require.NoError(t, err)
	assert.Equal(t, st.Assignment.Buyer, restored.Assignment.Vendor, "the vendor's steps go to its new instance")
	restoredIn := time.Since(lost)
	ms.release(t, ctx, id)
	paid := ms.settle(t, ctx, id, escrow.StatusCompleted)
	ms.assertReceived(t, ctx, paid, ms.vendor)
	saveHistory(t, ms.Stack, id, "restore-release")
	t.Logf("disk gone to restored in %.1fs; to payout confirmed in %.1fs", restoredIn.Seconds(), time.Since(lost).Seconds())
	var detail string
	for _, d := range paid.Decisions {
		if d.Update == escrow.UpdateRestoreWallet {
			detail = d.Detail
		}
	}
	assert.True(t, strings.HasPrefix(detail, "vendor wallet restored from backup stage 4 onto "), "the audit trail names the restore: %q", detail)
}

// release ships and confirms receipt: the money goes to the vendor.
func (ms *moneyStack) release(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	_, err := ms.Starter.Decide(ctx, id, escrow.UpdateMarkShipped, decision(escrow.Vendor))
	require.NoError(t, err)
	_, err = ms.Starter.Decide(ctx, id, escrow.UpdateConfirmReceipt, decision(escrow.Buyer))
	require.NoError(t, err)
}

// TestAllThreeWalletsLostAreRestoredAndTheRefundPays: every disk of the escrow is lost at
// once. Each role is restored from its backup onto another instance than its own, and the
// refund pays the buyer in full.
func TestAllThreeWalletsLostAreRestoredAndTheRefundPays(t *testing.T) {
	ms := startMoneyStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	id := "all-lost"
	st := ms.fundedEscrow(t, ctx, id)
	for _, r := range escrow.Roles {
		ms.loseWallet(t, st, r)
	}
	lost := time.Now()
	// Each role moves to the next role's instance.
	for i, r := range escrow.Roles {
		to := st.Assignment.For(escrow.Roles[(i+1)%len(escrow.Roles)])
		now, err := ms.Starter.RestoreWallet(ctx, id, escrow.RestoreWalletInput{Operator: "ops-test", Role: r, Instance: to})
		require.NoError(t, err, "restore %s onto %s", r, to)
		assert.Equal(t, to, now.Assignment.For(r))
	}
	restoredIn := time.Since(lost)
	_, err := ms.Starter.Decide(ctx, id, escrow.UpdateAgreeRefund, decision(escrow.Vendor))
	require.NoError(t, err)
	paid := ms.settle(t, ctx, id, escrow.StatusRefunded)
	ms.assertReceived(t, ctx, paid, ms.buyer)
	t.Logf("three disks gone to restored in %.1fs; to refund confirmed in %.1fs", restoredIn.Seconds(), time.Since(lost).Seconds())
}
