package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// errMadeWithoutDaemon marks a new wallet whose scan starts past the chain's top; the retry
// that follows makes it again (a plain error: Temporal retries it).
var errMadeWithoutDaemon = errors.New("wallet-rpc made it without reaching its daemon")

// scanStartSlack is how far past the chain's top a new wallet's height may be before it is
// refused: a day of mainnet blocks, for a daemon that is a little behind the one the
// wallet-rpc asked. The wrong starts seen are millions of blocks out.
const scanStartSlack = 720

// checkScanStart refuses a wallet that wallet-rpc made without reaching its daemon. wallet2
// then guesses where the wallet starts scanning from the clock (estimate_blockchain_height:
// mainnet's schedule, less a month), and on a chain that does not follow that schedule
// (regtest, testnets, a clock far ahead) the guess is past the chain's top: the wallet never
// sees a payment below it, and its refreshes still report success. A wallet-rpc that cannot
// reach monerod at all reports the guess as the new wallet's height at once (3,774,801 on a
// 620-block regtest chain, 0.18.5.3), and that is what this catches. Nothing has used the
// wallet yet, so a bad one is closed and set aside, and the retry makes it again. With no
// daemon to compare against (no DaemonURL, or monerod not answering) it is kept.
//
// Not caught here: a wallet made while monerod turned wallet-rpc's connection away (its RPC
// connection limit) looks right until its first refresh (height 1 after create_wallet, 3,774,801
// after the refresh, 0.18.5.3). A refresh here would show it, but make_multisig resets the
// wallet's chain, so every setup would pay three first refreshes it then throws away; the
// finished wallet's first refresh, which the funding wait needs anyway, is checkScanned's.
func (w *Wallet) checkScanStart(ctx context.Context, name string) error {
	if w.daemon == nil {
		return nil
	}
	h, err := w.rpc.GetHeight(ctx)
	if err != nil {
		return fmt.Errorf("height of new wallet %s: %w", name, err)
	}
	top, ok := w.chainTop(ctx, name, "a new wallet's")
	if !ok || h.Height <= top+scanStartSlack {
		return nil
	}
	w.setOpen("")
	if err := w.rpc.CloseWallet(ctx); err != nil {
		return fmt.Errorf("close new wallet %s to set it aside: %w", name, err)
	}
	if err := w.quarantine(ctx, name); err != nil {
		return err
	}
	return fmt.Errorf("new wallet %s on %s starts scanning at height %d, past the chain's %d: %w; set aside, to be made again",
		name, w.instance, h.Height, top, errMadeWithoutDaemon)
}

// chainTop is monerod's height, which a wallet's (whose) scan start is checked against;
// false when monerod does not answer: the wallet then goes unchecked, with a warning.
func (w *Wallet) chainTop(ctx context.Context, name, whose string) (uint64, bool) {
	info, err := w.daemon.GetInfo(ctx)
	if err != nil {
		activity.GetLogger(ctx).Warn("monerod did not answer; "+whose+" scan start goes unchecked", "wallet", name, "error", err)
		return 0, false
	}
	return info.Height, true
}

// checkScanned runs a finished multisig wallet's first refresh and refuses the wallet if its
// chain now reaches past monerod's top: wallet2 guessed its scan start when it was made
// (checkScanStart) and it would never see a payment. The guess lives in the keys file, which
// no wallet-rpc call can change and every snapshot shares, so neither a retry nor an operator
// can mend the wallet; the setup fails before the address goes out. The refresh is the one the
// funding wait would make first (make_multisig has reset the chain, and nothing resets it
// again), so it moves work rather than adding it. With no daemon to compare against (none
// configured, or monerod not answering) the wallet is kept unchecked, as at creation; a
// refresh that fails on a wallet that looks right is retried.
func (w *Wallet) checkScanned(ctx context.Context, name string) error {
	if w.daemon == nil {
		return nil
	}
	top, ok := w.chainTop(ctx, name, "a finished wallet's")
	if !ok {
		return nil
	}
	_, refreshErr := w.rpc.Refresh(ctx, walletrpc.RefreshRequest{})
	h, err := w.rpc.GetHeight(ctx)
	if err != nil {
		return fmt.Errorf("height of finished wallet %s: %w", name, err)
	}
	if h.Height > top+scanStartSlack {
		return nonRetryable(escrow.ErrTypeScanStart, fmt.Errorf(
			"finished wallet %s on %s scans from height %d, past the chain's %d: wallet-rpc made it while monerod turned it away (monerod's RPC connection limit?), so it would never see a payment",
			name, w.instance, h.Height, top))
	}
	if refreshErr != nil {
		return fmt.Errorf("first refresh of finished wallet %s: %w", name, refreshErr)
	}
	return nil
}
