package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
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
// Not caught: under load, wallets whose height right after creation looked right were found
// scanning from 3,774,800 at their first refresh (docs/benchmark.md, "Full lifecycles"). A
// refresh here would show it, but make_multisig resets the wallet's chain, so every setup
// would pay three first refreshes it then throws away (tried: about 0.5-0.9 s and CPU-s more
// per setup in one run); the check belongs where the setup refreshes anyway, before Ready.
func (w *Wallet) checkScanStart(ctx context.Context, name string) error {
	if w.daemon == nil {
		return nil
	}
	h, err := w.rpc.GetHeight(ctx)
	if err != nil {
		return fmt.Errorf("height of new wallet %s: %w", name, err)
	}
	info, err := w.daemon.GetInfo(ctx)
	if err != nil {
		activity.GetLogger(ctx).Warn("monerod did not answer; a new wallet's scan start goes unchecked", "wallet", name, "error", err)
		return nil
	}
	if h.Height <= info.Height+scanStartSlack {
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
		name, w.instance, h.Height, info.Height, errMadeWithoutDaemon)
}
