package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/activity"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/keyring"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// RestoreInput names the role's wallet to write back from its backup.
type RestoreInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	// Address is the escrow's multisig address, as its history records it: the restored wallet must have it.
	Address string `json:"address"`
}

// RestoreResult says where the wallet now is and what the restore did.
type RestoreResult struct {
	// Instance is this instance's name: where the wallet now is.
	Instance string `json:"instance"`
	// Host is the host of that instance, if its worker knows it.
	Host string `json:"host,omitempty"`
	// Stage is the backup's stage; 0 when Restored is false, because no backup was read.
	Stage int `json:"stage"`
	// Restored is false when the wallet was already here and is the escrow's (a retried restore).
	Restored bool `json:"restored"`
	Opens    int  `json:"opens"`
}

// RestoreWallet writes the role's wallet onto this instance from its sealed backup, for when
// the host that held it lost its disk. It never overwrites or deletes a file it did not write,
// and it keeps the wallet only if it has the escrow's address. A retry (after a failed
// refresh, say) finds the wallet already here, checks it the same way, and finishes.
func (w *Wallet) RestoreWallet(ctx context.Context, in RestoreInput) (RestoreResult, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return RestoreResult{}, err
	}
	if in.Address == "" {
		return RestoreResult{}, nonRetryable(escrow.ErrTypeInvalidInput, fmt.Errorf("restore %s: no address to check the wallet against", name))
	}
	if w.backups == nil {
		return RestoreResult{}, refused("restore %s: instance %s has no backups (a participant's own worker), so it cannot restore", name, w.instance)
	}
	keysPath := filepath.Join(w.dir, name+".keys")
	if _, err := os.Lstat(keysPath); err == nil {
		return w.restoredAlready(ctx, in, name)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return RestoreResult{}, fmt.Errorf("restore %s: %w", name, err)
	}
	b, err := w.fetchBackup(ctx, in, name)
	if err != nil {
		return RestoreResult{}, err
	}
	defer clear(b.Keys)
	res := RestoreResult{Instance: w.instance, Host: w.host, Stage: b.Stage}

	// open_wallet stores the wallet open before it, and that wallet could be one whose files
	// vanished under it (named like ours), so close it first: its files land before our
	// exclusive link, which then refuses to clobber them. Whatever was open is closed now.
	err = w.rpc.CloseWallet(ctx)
	w.setOpen("")
	if err != nil && !walletrpc.IsNotOpen(err) {
		return res, classify(fmt.Errorf("restore %s: close the open wallet on %s: %w", name, w.instance, err))
	}
	_, cacheErr := os.Lstat(filepath.Join(w.dir, name))
	cacheExisted := !errors.Is(cacheErr, fs.ErrNotExist)
	written, err := w.writeKeys(name, b.Keys)
	if errors.Is(err, fs.ErrExist) {
		// A file of that name appeared since the check: judge it as one that was here before.
		return w.restoredAlready(ctx, in, name)
	}
	if err != nil {
		return res, err
	}

	err = heartbeating(ctx, func(ctx context.Context) error {
		return w.rpc.OpenWallet(ctx, walletrpc.OpenWalletRequest{Filename: name, Password: w.password(name)})
	})
	w.counters.Opens.Add(1)
	res.Opens = 1
	if err != nil && walletrpc.IsRetryable(err) {
		// The file stays; the retry finds it and checks it (restoredAlready).
		return res, fmt.Errorf("restore %s: open it on %s: %w", name, w.instance, err)
	}
	if err != nil {
		return res, w.discard(ctx, name, written, b.Keys, cacheExisted,
			fmt.Sprintf("backup of escrow %s role %s does not open with the password derived for %s (%v)", in.EscrowID, in.Role, name, err))
	}
	addr, err := w.rpc.GetAddress(ctx, walletrpc.GetAddressRequest{})
	if err != nil {
		return res, fmt.Errorf("restore %s: read its address on %s: %w", name, w.instance, err)
	}
	if addr.Address != in.Address {
		return res, w.discard(ctx, name, written, b.Keys, cacheExisted,
			fmt.Sprintf("backup of escrow %s role %s has address %s, the escrow's is %s", in.EscrowID, in.Role, short(addr.Address), short(in.Address)))
	}
	// From here on the wallet is the escrow's: every failure is retryable, and the retry
	// completes the label, refresh and store through restoredAlready.
	if err := w.label(ctx, name); err != nil {
		return res, fmt.Errorf("restore %s: %w", name, err)
	}
	w.setOpen(name)
	n, err := w.refreshAndStore(ctx, name)
	res.Opens += n
	if err != nil {
		return res, err
	}
	// The backup now names this instance, so it says where the key share lives.
	if err := w.backup(ctx, in.EscrowID, in.Role, b.Stage); err != nil {
		return res, err
	}
	res.Restored = true
	activity.GetLogger(ctx).Info("restored wallet from its backup", "wallet", name, "instance", w.instance, "stage", b.Stage)
	return res, nil
}

// restoredAlready judges a keys file found under the wallet's name: it is kept and
// finished (refresh, store) only if it opens with the name's password and has the escrow's
// address; otherwise the restore is refused and the file left exactly as it is.
func (w *Wallet) restoredAlready(ctx context.Context, in RestoreInput, name string) (RestoreResult, error) {
	res := RestoreResult{Instance: w.instance, Host: w.host}
	notOurs := func(why string) error {
		return refused("instance %s already holds a wallet named %s that is not escrow %s's %s wallet (%s); nothing was overwritten",
			w.instance, name, in.EscrowID, in.Role, why)
	}
	opens, err := w.ensureOpen(ctx, name)
	res.Opens = opens
	var le *labelError
	if err != nil && (walletrpc.IsRetryable(err) || errors.As(err, &le)) {
		return res, classify(fmt.Errorf("restore %s: %w", name, err))
	}
	if err != nil {
		return res, notOurs(fmt.Sprintf("it does not open with the password derived for its name: %v", err))
	}
	var addr string
	n, err := w.withWallet(ctx, name, func(ctx context.Context) error {
		r, err := w.rpc.GetAddress(ctx, walletrpc.GetAddressRequest{})
		addr = r.Address
		return err
	})
	res.Opens += n
	if err != nil {
		return res, classify(fmt.Errorf("restore %s: read its address on %s: %w", name, w.instance, err))
	}
	if addr != in.Address {
		return res, notOurs(fmt.Sprintf("its address is %s, the escrow's is %s", short(addr), short(in.Address)))
	}
	n, err = w.refreshAndStore(ctx, name)
	res.Opens += n
	if err != nil {
		return res, err
	}
	activity.GetLogger(ctx).Info("wallet to restore was already here and is the escrow's", "wallet", name, "instance", w.instance)
	return res, nil
}

// fetchBackup reads the role's backup. A backup that is missing, corrupt or does not open
// will not change by retrying; anything else (the database is down) may.
func (w *Wallet) fetchBackup(ctx context.Context, in RestoreInput, name string) (store.WalletBackup, error) {
	b, err := w.backups.GetWalletBackup(ctx, in.EscrowID, in.Role)
	switch {
	case errors.Is(err, store.ErrNoBackup):
		return b, refused("restore %s: no backup of escrow %s role %s: %v", name, in.EscrowID, in.Role, err)
	case errors.Is(err, store.ErrBackupCorrupt), errors.Is(err, keyring.ErrDecrypt),
		errors.Is(err, keyring.ErrUnknownKey), errors.Is(err, keyring.ErrMalformed):
		// The store's errors name the cause and never the keys.
		return b, refused("restore %s: backup of escrow %s role %s cannot be used: %v", name, in.EscrowID, in.Role, err)
	case errors.Is(err, store.ErrInvalid):
		return b, nonRetryable(escrow.ErrTypeInvalidInput, fmt.Errorf("restore %s: %w", name, err))
	case err != nil:
		return b, fmt.Errorf("restore %s: read its backup: %w", name, err)
	}
	if b.EscrowID != in.EscrowID || b.Role != in.Role || len(b.Keys) == 0 {
		clear(b.Keys)
		return store.WalletBackup{}, refused("restore %s: the backups answered with another or an empty backup", name)
	}
	return b, nil
}

// writeKeys puts keys at <name>.keys whole or not at all, and never over an existing file:
// it writes and syncs a temporary file in the same dir, then hard-links it into place, which
// fails with fs.ErrExist if anything took the name meanwhile. It returns the written file's
// info so that a later clean-up removes that file and nothing else.
func (w *Wallet) writeKeys(name string, keys []byte) (os.FileInfo, error) {
	dst := filepath.Join(w.dir, name+".keys")
	// The ".restore-" suffix is the one dropSnapshots sweeps if a crash leaves the file behind.
	f, err := os.CreateTemp(w.dir, name+".keys.restore-*")
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", name, err)
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }() // after the link, only the temporary name goes
	// CreateTemp makes the file 0600, as wallet-rpc makes its own.
	_, err = f.Write(keys)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("restore %s: write keys: %w", name, err)
	}
	if err := os.Link(tmp, dst); err != nil {
		return nil, fmt.Errorf("restore %s: put keys in place: %w", name, err)
	}
	info, err := os.Lstat(dst)
	if err == nil {
		err = syncDir(w.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", name, err)
	}
	return info, nil
}

// discard undoes a restore whose wallet is not the escrow's and refuses it. It closes the
// wallet without saving, then removes the keys file only if it is still the one written
// (same file, or same bytes), and the cache only if there was none before.
func (w *Wallet) discard(ctx context.Context, name string, written os.FileInfo, keys []byte, cacheExisted bool, why string) error {
	err := w.rpc.Call(ctx, walletrpc.MethodCloseWallet, map[string]bool{"autosave_current": false}, nil)
	w.setOpen("")
	if err != nil && !walletrpc.IsNotOpen(err) {
		// Files removed under an open wallet would come back when wallet-rpc next saves it.
		return refused("%s; could not close it (%v), so %s.keys is left in place", why, err, name)
	}
	keysPath := filepath.Join(w.dir, name+".keys")
	if now, err := os.Lstat(keysPath); err == nil && !os.SameFile(now, written) {
		if got, rerr := os.ReadFile(keysPath); rerr != nil || !bytes.Equal(got, keys) {
			return refused("%s; %s.keys is no longer the file written, so it is left in place", why, name)
		}
	}
	if err := os.Remove(keysPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return refused("%s; removing %s.keys failed: %v", why, name, err)
	}
	if !cacheExisted {
		if err := os.Remove(filepath.Join(w.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return refused("%s; removing the cache %s failed: %v", why, name, err)
		}
	}
	_ = syncDir(w.dir)
	activity.GetLogger(ctx).Warn("refused a restore and removed what it wrote", "wallet", name, "instance", w.instance)
	return refused("%s; removed what was written", why)
}

// refreshAndStore brings the wallet up to the chain and stores it. Its errors are all
// retryable: the retry finds the wallet (restoredAlready) and tries again.
func (w *Wallet) refreshAndStore(ctx context.Context, name string) (int, error) {
	opens, err := w.withWallet(ctx, name, func(ctx context.Context) error {
		// No start height: the keys file records the wallet's own refresh height.
		if _, err := w.rpc.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
			return fmt.Errorf("refresh: %w", err)
		}
		return w.rpc.Store(ctx)
	})
	if err != nil {
		return opens, fmt.Errorf("restore %s on %s: %w", name, w.instance, err)
	}
	return opens, nil
}

// refused is a restore that must not be retried as it is.
func refused(format string, args ...any) error {
	return nonRetryable(escrow.ErrTypeRestoreRefused, fmt.Errorf(format, args...))
}

// short cuts an address for messages: enough to tell two apart.
func short(addr string) string {
	if len(addr) <= 12 {
		return addr
	}
	return addr[:12] + "…"
}
