package activities

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/activity"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// Backups keeps a copy of each wallet's keys file off its host, sealed by the keyring
// (store.Store): the wallet dir is otherwise the only copy of a key share, and one lost
// disk would strand the money of every escrow with a role on it. RestoreWallet (restore.go)
// reads a copy back onto another instance.
type Backups interface {
	PutWalletBackup(ctx context.Context, b store.WalletBackup) (applied bool, err error)
	GetWalletBackup(ctx context.Context, escrowID string, role escrow.Role) (store.WalletBackup, error)
}

// BackupStageReady is the backup taken when the setup is verified; the rounds take their
// number (1–3), and a lower stage never replaces a higher one.
const BackupStageReady = store.BackupStageReady

// backup copies the role's keys file, as the last store left it on disk, into the backups
// before the step that stored it reports success: no reported setup state exists without
// its backup. A failure is retryable (the database may be down); the step is retried whole.
// Without Backups (a participant's own worker keeps its own key) it does nothing.
func (w *Wallet) backup(ctx context.Context, escrowID string, role escrow.Role, stage int) error {
	if w.backups == nil {
		return nil
	}
	name := escrow.WalletName(escrowID, role)
	keys, err := os.ReadFile(filepath.Join(w.dir, name+".keys"))
	if err != nil {
		return fmt.Errorf("back up %s: read its keys file: %w", name, err)
	}
	defer clear(keys)
	if _, err := w.backups.PutWalletBackup(ctx, store.WalletBackup{EscrowID: escrowID, Role: role, Stage: stage, Instance: w.instance, Keys: keys}); err != nil {
		return fmt.Errorf("back up %s: %w", name, err)
	}
	activity.GetLogger(ctx).Debug("wallet keys backed up", "wallet", name, "stage", stage)
	return nil
}
