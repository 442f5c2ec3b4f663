package activities

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.temporal.io/sdk/activity"

	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// snapshotDir is where a wallet's per-round snapshots live, inside the instance's wallet dir
// (same file system, so rename is atomic).
const snapshotDir = ".snapshots"

// walletFiles are the files that make a wallet: the cache and the keys.
func walletFiles(name string) []string { return []string{name, name + ".keys"} }

func (w *Wallet) snapshotPath(name string, round int) string {
	return filepath.Join(w.dir, snapshotDir, name, "round-"+strconv.Itoa(round))
}

// snapshotOrRestore makes a retried round run as if once. On the first attempt it copies the
// stored wallet files into a fresh temporary folder and renames that folder into place, so a
// snapshot either exists whole or not at all. If the snapshot already exists, an earlier
// attempt may have advanced the wallet (the wallet cannot be asked for a round's message
// twice), so the wallet is closed and its files are put back from the snapshot. It reports
// whether it restored.
func (w *Wallet) snapshotOrRestore(ctx context.Context, name string, round int) (bool, error) {
	snap := w.snapshotPath(name, round)
	if _, err := os.Stat(snap); err == nil {
		return true, w.restore(ctx, name, snap)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("stat snapshot %s: %w", snap, err)
	}
	return false, w.snapshot(name, snap)
}

// snapshot relies on every mutating activity storing the wallet before it returns, so the
// files on disk are the wallet's state before this round.
func (w *Wallet) snapshot(name, snap string) error {
	parent := filepath.Dir(snap)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	tmp, err := os.MkdirTemp(parent, filepath.Base(snap)+".tmp-")
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	defer func() { _ = os.RemoveAll(tmp) }() // a no-op once renamed
	for _, f := range walletFiles(name) {
		if err := copyFile(filepath.Join(w.dir, f), filepath.Join(tmp, f)); err != nil {
			return fmt.Errorf("snapshot %s: %w", name, err)
		}
	}
	if err := syncDir(tmp); err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	if err := os.Rename(tmp, snap); err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	return syncDir(parent)
}

func (w *Wallet) restore(ctx context.Context, name, snap string) error {
	// Close whatever is open, even if we think nothing is: after a worker restart the
	// instance may still hold this wallet, and it would write its state over the restored
	// files when it is next closed.
	err := w.rpc.CloseWallet(ctx)
	w.setOpen("")
	if err != nil && !walletrpc.IsNotOpen(err) {
		return fmt.Errorf("restore %s: close wallet: %w", name, err)
	}
	for _, f := range walletFiles(name) {
		dst := filepath.Join(w.dir, f)
		tmp := dst + ".restore-" + randomSuffix()
		if err := copyFile(filepath.Join(snap, f), tmp); err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("restore %s: %w", name, err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("restore %s: %w", name, err)
		}
	}
	if err := syncDir(w.dir); err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	activity.GetLogger(ctx).Warn("restored wallet from pre-round snapshot for a retry", "wallet", name, "snapshot", filepath.Base(snap))
	return nil
}

// dropSnapshots removes the snapshots of rounds before round (all of them when round is
// 0) and any temporary folder or file a crash left behind. A round's snapshot is kept until the next
// round starts, because only then is the round's result certainly in history.
func (w *Wallet) dropSnapshots(name string, round int) error {
	// A restore killed between its copy and its rename leaves a temporary file next to the
	// wallet; the restore that follows writes a new one, so the old one is garbage.
	var stale []string
	for _, f := range walletFiles(name) {
		m, _ := filepath.Glob(filepath.Join(w.dir, f+".restore-*"))
		stale = append(stale, m...)
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("drop restore leftover of %s: %w", name, err)
		}
	}
	dir := filepath.Join(w.dir, snapshotDir, name)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list snapshots of %s: %w", name, err)
	}
	for _, e := range entries {
		n, tmp := parseSnapshotName(e.Name())
		if round == 0 || tmp || n < round {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("drop snapshot %s/%s: %w", name, e.Name(), err)
			}
		}
	}
	if round == 0 {
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("drop snapshots of %s: %w", name, err)
		}
	}
	return nil
}

// parseSnapshotName reads "round-N" or "round-N.tmp-XXXX".
func parseSnapshotName(s string) (round int, tmp bool) {
	s, ok := strings.CutPrefix(s, "round-")
	if !ok {
		return 0, true
	}
	if i := strings.Index(s, ".tmp-"); i >= 0 {
		return 0, true
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, true
	}
	return n, false
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	// A fresh name every time: O_EXCL never writes through a file (or link) already there.
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return fmt.Errorf("copy %s: %w", filepath.Base(src), err)
	}
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
