package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/activity"

	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// WalletLabelKey is the wallet attribute that names each wallet this product made. wallet-rpc
// has no call that says which file is open, so the wallet says it itself: the label is set
// right after create_wallet (and on the first open of a wallet made before labels), stored
// with the wallet's cache, and read back with get_attribute before every step. The key
// follows wallet2's "<client>.<name>" scheme for attributes.
const WalletLabelKey = "xmr-escrow.wallet"

// ensureOpen makes name the open wallet and returns how many open_wallet calls it made.
// It never trusts w.open: it asks the instance which wallet is open (one get_attribute,
// about a millisecond) and skips the 1–3.5 CPU-second open only when the label says name.
// That also skips the open after a worker restart when the instance kept the wallet open.
// When this process believed a wallet open and the instance says otherwise, the mismatch is
// counted and logged: another process drives the instance, or it restarted.
func (w *Wallet) ensureOpen(ctx context.Context, name string) (int, error) {
	believed := *w.open.Load()
	found, err := w.rpc.GetAttribute(ctx, WalletLabelKey)
	if err == nil && found == name {
		w.setOpen(name)
		return 0, nil
	}
	if err != nil && !walletrpc.IsNotOpen(err) && !walletrpc.IsAttributeNotFound(err) && walletrpc.IsRetryable(err) {
		// The instance cannot be asked right now; opening blindly would fail the same way.
		return 0, fmt.Errorf("check open wallet on %s: %w", w.instance, err)
	}
	if believed != "" && (err != nil || found != believed) {
		w.mismatch(ctx, name, believed, describeOpen(found, err))
	}
	w.setOpen("")
	err = heartbeating(ctx, func(ctx context.Context) error {
		return w.rpc.OpenWallet(ctx, walletrpc.OpenWalletRequest{Filename: name, Password: w.password(name)})
	})
	w.counters.Opens.Add(1)
	if err != nil {
		return 1, fmt.Errorf("open wallet %s on %s: %w", name, w.instance, err)
	}
	if err := w.labelOpened(ctx, name); err != nil {
		return 1, &labelError{err: err}
	}
	w.setOpen(name)
	activity.GetLogger(ctx).Info("opened wallet", "wallet", name, "instance", w.instance)
	return 1, nil
}

// labelError is a wallet that opened but could not be labelled: the wallet is sound, so
// CreateWallet must not take it for a half-written one and set it aside.
type labelError struct{ err error }

func (e *labelError) Error() string { return e.err.Error() }
func (e *labelError) Unwrap() error { return e.err }

// labelOpened makes sure the wallet just opened under name carries its label. Wallets made
// before labels existed, and wallets whose label was set but not stored before a crash,
// get it now; a wallet file that carries another wallet's label was copied or renamed
// under this name, which is counted and logged before it is relabelled: open_wallet found
// it under name, so that is the name later steps will open it by.
func (w *Wallet) labelOpened(ctx context.Context, name string) error {
	found, err := w.rpc.GetAttribute(ctx, WalletLabelKey)
	switch {
	case err == nil && found == name:
		return nil
	case err == nil:
		w.mismatch(ctx, name, name, "the file "+name+" labelled as "+found)
	case !walletrpc.IsAttributeNotFound(err):
		return fmt.Errorf("read label of %s on %s: %w", name, w.instance, err)
	}
	return w.label(ctx, name)
}

// label sets the open wallet's label and stores the wallet, so the label is on disk before
// any step relies on it (set_attribute alone lives in memory until the next store).
func (w *Wallet) label(ctx context.Context, name string) error {
	if err := w.rpc.SetAttribute(ctx, WalletLabelKey, name); err != nil {
		return fmt.Errorf("label %s on %s: %w", name, w.instance, err)
	}
	if err := w.rpc.Store(ctx); err != nil {
		return fmt.Errorf("store label of %s on %s: %w", name, w.instance, err)
	}
	return nil
}

// mismatch counts and logs a wrong belief about the open wallet. The wallet names are not
// secret (they derive from the escrow ID and role), so they go into the warning.
func (w *Wallet) mismatch(ctx context.Context, want, believed, found string) {
	w.counters.Mismatches.Add(1)
	activity.GetLogger(ctx).Warn("wallet-rpc has another wallet open than this worker believed; opening the right one",
		"instance", w.instance, "wallet", want, "believed_open", believed, "found", found)
}

// describeOpen says what get_attribute revealed about the open wallet, for the warning.
func describeOpen(found string, err error) string {
	switch {
	case err == nil:
		return "wallet " + found
	case walletrpc.IsNotOpen(err):
		return "no wallet open"
	case walletrpc.IsAttributeNotFound(err):
		return "a wallet without the " + WalletLabelKey + " label"
	default:
		return "unverifiable: " + err.Error()
	}
}
