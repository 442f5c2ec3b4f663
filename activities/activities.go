package activities

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/activity"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/crashpoint"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// WalletInput names one role's wallet of one escrow.
type WalletInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	// Synced (SpendableBalance only) says the signers have just synced, this wallet's export
	// refreshing it: the balance is read as the sync left it, with no refresh of its own.
	Synced bool `json:"synced,omitempty"`
}

// CreateWalletResult says which wallet holds the role's key.
type CreateWalletResult struct {
	Wallet   string `json:"wallet"`
	Instance string `json:"instance"`
	// Reused is true when an earlier attempt had already created the wallet.
	Reused bool `json:"reused"`
	// Opens counts the open_wallet calls this step made.
	Opens int `json:"opens"`
	// Info is the role's round-0 message (prepare_multisig), so the setup needs no separate
	// PrepareMultisig step: a secret, like every MultisigMessage.
	Info string `json:"info,omitempty"`
}

// MultisigMessage is what a step hands to the other two roles. It is a secret (the first
// one carries private view-key material) and must only travel encrypted.
type MultisigMessage struct {
	Info  string `json:"info"`
	Opens int    `json:"opens"`
}

// RoundInput feeds one role the other roles' messages of the previous round.
type RoundInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	// Round is 1 (make_multisig), 2 or 3 (exchange_multisig_keys).
	Round int `json:"round"`
	// Infos are the two other roles' messages, in escrow.Roles order.
	Infos []string `json:"infos"`
}

// RoundResult is one role's output of one round.
type RoundResult struct {
	// Info is the message for the next round; empty after the last round.
	Info string `json:"info"`
	// Address is the multisig address as this wallet sees it (set after the last round).
	Address string `json:"address"`
	// Restored is true when the round was retried from its pre-round snapshot.
	Restored bool `json:"restored"`
	Opens    int  `json:"opens"`
}

// VerifyResult is what a finished wallet reports about itself.
type VerifyResult struct {
	Address   string `json:"address"`
	Multisig  bool   `json:"multisig"`
	Ready     bool   `json:"ready"`
	Threshold uint32 `json:"threshold"`
	Total     uint32 `json:"total"`
	Opens     int    `json:"opens"`
}

// CreateWallet creates the role's wallet under a name derived from the escrow and role. A
// retry finds the wallet by that name and opens it instead, so one escrow and role never
// get two wallets.
func (w *Wallet) CreateWallet(ctx context.Context, in WalletInput) (CreateWalletResult, error) {
	res, err := w.createWallet(ctx, in)
	if err != nil {
		return res, err
	}
	// The round-0 message changes nothing on disk: asking for it here saves the setup a
	// step (a round trip through Temporal) and costs wallet-rpc a few milliseconds.
	crashpoint.At(crashpoint.PrepareStart, 0)
	r, err := w.rpc.PrepareMultisig(ctx, walletrpc.PrepareMultisigRequest{EnableMultisigExperimental: true})
	if err != nil {
		return res, classify(fmt.Errorf("prepare multisig %s: %w", res.Wallet, err))
	}
	res.Info = r.MultisigInfo
	return res, nil
}

// createWallet creates (or finds) the wallet and leaves it open.
func (w *Wallet) createWallet(ctx context.Context, in WalletInput) (CreateWalletResult, error) {
	defer crashpoint.At(crashpoint.CreateReturn, 0)
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return CreateWalletResult{}, err
	}
	res := CreateWalletResult{Wallet: name, Instance: w.instance}
	if w.isOpen(name) || w.exists(name) {
		var le *labelError
		if res.Opens, err = w.ensureOpen(ctx, name); err == nil || walletrpc.IsRetryable(err) || errors.As(err, &le) {
			res.Reused = true
			if err == nil {
				err = w.checkScanStart(ctx, name) // the create that made it may have died before checking
			}
			return res, classify(err)
		}
		// The wallet is there but does not open: a create that died half-way (the
		// process was killed while writing it). No step has used it, or this create
		// would not be retried, so set it aside and make it again.
		if err := w.quarantine(ctx, name); err != nil {
			return res, classify(err)
		}
	}
	w.setOpen("")
	err = heartbeating(ctx, func(ctx context.Context) error {
		return w.rpc.CreateWallet(ctx, walletrpc.CreateWalletRequest{Filename: name, Password: w.password(name), Language: "English"})
	})
	w.counters.Creates.Add(1)
	if walletrpc.IsWalletExists(err) {
		res.Reused = true
		res.Opens, err = w.ensureOpen(ctx, name)
		return res, classify(err)
	}
	if err != nil {
		return res, classify(fmt.Errorf("create wallet %s on %s: %w", name, w.instance, err))
	}
	crashpoint.At(crashpoint.CreateCreated, 0)
	if err := w.checkScanStart(ctx, name); err != nil {
		return res, classify(err)
	}
	// The label is what every later step checks the open wallet by. If labelling fails,
	// the retry finds the wallet by name and labels it when it opens it.
	if err := w.label(ctx, name); err != nil {
		return res, classify(err)
	}
	w.setOpen(name)
	activity.GetLogger(ctx).Info("created wallet", "wallet", name, "instance", w.instance)
	return res, nil
}

// quarantine renames a wallet that cannot be opened out of the way, keeping it for a
// post-mortem under .broken/ rather than deleting anything that holds key material.
func (w *Wallet) quarantine(ctx context.Context, name string) error {
	dir := filepath.Join(w.dir, ".broken", name+"-"+randomSuffix())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("quarantine %s: %w", name, err)
	}
	for _, f := range append(walletFiles(name), name+".address.txt") {
		if err := os.Rename(filepath.Join(w.dir, f), filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("quarantine %s: %w", name, err)
		}
	}
	activity.GetLogger(ctx).Warn("wallet from an interrupted create does not open; set aside and created again", "wallet", name, "moved_to", dir)
	return nil
}

// PrepareMultisig returns the role's round-0 message. It changes nothing on disk, so a
// retry simply asks again.
func (w *Wallet) PrepareMultisig(ctx context.Context, in WalletInput) (MultisigMessage, error) {
	crashpoint.At(crashpoint.PrepareStart, 0)
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return MultisigMessage{}, err
	}
	var out MultisigMessage
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		r, err := w.rpc.PrepareMultisig(ctx, walletrpc.PrepareMultisigRequest{EnableMultisigExperimental: true})
		out.Info = r.MultisigInfo
		return err
	})
	if err != nil {
		return MultisigMessage{}, classify(fmt.Errorf("prepare multisig %s: %w", name, err))
	}
	return out, nil
}

// MakeMultisig runs round 1. It calls prepare_multisig with the experimental flag in the
// same session right before make_multisig, which is what persists the flag into the keys
// file; without it the wallet could never finish the later rounds over RPC.
func (w *Wallet) MakeMultisig(ctx context.Context, in RoundInput) (RoundResult, error) {
	return w.round(ctx, in, func(ctx context.Context, name string) (walletrpc.ExchangeMultisigKeysResult, error) {
		if _, err := w.rpc.PrepareMultisig(ctx, walletrpc.PrepareMultisigRequest{EnableMultisigExperimental: true}); err != nil {
			return walletrpc.ExchangeMultisigKeysResult{}, fmt.Errorf("re-enable multisig: %w", err)
		}
		r, err := w.rpc.MakeMultisig(ctx, walletrpc.MakeMultisigRequest{MultisigInfo: in.Infos, Threshold: escrow.Threshold, Password: w.password(name)})
		return walletrpc.ExchangeMultisigKeysResult(r), err
	})
}

// ExchangeMultisigKeys runs round 2 or 3.
func (w *Wallet) ExchangeMultisigKeys(ctx context.Context, in RoundInput) (RoundResult, error) {
	return w.round(ctx, in, func(ctx context.Context, name string) (walletrpc.ExchangeMultisigKeysResult, error) {
		return w.rpc.ExchangeMultisigKeys(ctx, walletrpc.ExchangeMultisigKeysRequest{MultisigInfo: in.Infos, Password: w.password(name)})
	})
}

// round wraps one key-exchange step: it checks the input, takes (or on a retry restores)
// the pre-round snapshot, runs the step with the wallet open, and stores the wallet before
// reporting success, so a reported round is on disk.
func (w *Wallet) round(ctx context.Context, in RoundInput, step func(ctx context.Context, name string) (walletrpc.ExchangeMultisigKeysResult, error)) (RoundResult, error) {
	crashpoint.At(crashpoint.RoundStart, in.Round)
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return RoundResult{}, err
	}
	if err := validateRound(in); err != nil {
		return RoundResult{}, err
	}
	if err := w.dropSnapshots(name, in.Round); err != nil {
		return RoundResult{}, classify(err)
	}
	var out RoundResult
	out.Restored, err = w.snapshotOrRestore(ctx, name, in.Round)
	if err != nil {
		return RoundResult{}, classify(err)
	}
	var r walletrpc.ExchangeMultisigKeysResult
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		var err error
		if r, err = step(ctx, name); err != nil {
			return err
		}
		crashpoint.At(crashpoint.RoundStepped, in.Round)
		return w.rpc.Store(ctx)
	})
	if err != nil {
		return RoundResult{}, classify(fmt.Errorf("round %d of %s: %w", in.Round, name, err))
	}
	out.Info, out.Address = r.MultisigInfo, r.Address
	if in.Round < escrow.Rounds && out.Info == "" {
		return RoundResult{}, nonRetryable(escrow.ErrTypeProtocol, fmt.Errorf("round %d of %s: wallet returned no message for the next round", in.Round, name))
	}
	if err := w.backup(ctx, in.EscrowID, in.Role, in.Round); err != nil {
		return RoundResult{}, classify(err)
	}
	crashpoint.At(crashpoint.RoundDone, in.Round)
	return out, nil
}

// VerifyMultisig reports the finished wallet's multisig status and address, and removes the
// last snapshots: the setup is over, nothing will be retried. A finished wallet is refreshed
// once and refused if it scans from past the chain's top (checkScanned), before its address
// can go out.
func (w *Wallet) VerifyMultisig(ctx context.Context, in WalletInput) (VerifyResult, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return VerifyResult{}, err
	}
	var out VerifyResult
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		ms, err := w.rpc.IsMultisig(ctx)
		if err != nil {
			return err
		}
		addr, err := w.rpc.GetAddress(ctx, walletrpc.GetAddressRequest{})
		if err != nil {
			return err
		}
		out.Multisig, out.Ready, out.Threshold, out.Total, out.Address = ms.Multisig, ms.Ready, ms.Threshold, ms.Total, addr.Address
		if !out.Ready {
			return nil
		}
		return w.checkScanned(ctx, name)
	})
	if err != nil {
		return VerifyResult{}, classify(fmt.Errorf("verify %s: %w", name, err))
	}
	crashpoint.At(crashpoint.VerifyRead, 0)
	if out.Ready {
		if err := w.backup(ctx, in.EscrowID, in.Role, BackupStageReady); err != nil {
			return VerifyResult{}, classify(err)
		}
	}
	if err := w.dropSnapshots(name, 0); err != nil {
		return VerifyResult{}, classify(err)
	}
	return out, nil
}

// ReturnInstance gives the escrow's lease on this instance back to the pool once its setup
// is over, so the next setup can have the instance (and keep its own wallet open on it).
func (w *Wallet) ReturnInstance(ctx context.Context, in WalletInput) (ReturnResult, error) {
	if w.pool == nil {
		return ReturnResult{}, nil
	}
	ok, err := w.pool.ReturnShared(ctx, w.instance, in.EscrowID)
	if err != nil {
		return ReturnResult{}, fmt.Errorf("return %s's lease on %s: %w", in.EscrowID, w.instance, err)
	}
	return ReturnResult{Returned: ok}, nil
}

// ReleaseInstance is ReturnInstance under the activity name that escrows started before the
// workflows' "lease-returned" marker schedule (the word "release" now means a payout alone).
// It stays registered until that marker is retired.
func (w *Wallet) ReleaseInstance(ctx context.Context, in WalletInput) (ReturnResult, error) {
	return w.ReturnInstance(ctx, in)
}

// ReturnResult says whether a lease was given back (false: it had expired, or another
// role on the same instance gave it back first).
type ReturnResult struct {
	Returned bool `json:"returned"`
}

func (w *Wallet) exists(name string) bool {
	_, err := os.Stat(filepath.Join(w.dir, name+".keys"))
	return err == nil
}

func walletName(escrowID string, role escrow.Role) (string, error) {
	if err := escrow.ValidateID(escrowID); err != nil {
		return "", nonRetryable(escrow.ErrTypeInvalidInput, err)
	}
	if !role.Valid() {
		return "", nonRetryable(escrow.ErrTypeInvalidInput, fmt.Errorf("unknown role %q", role))
	}
	return escrow.WalletName(escrowID, role), nil
}

// multisigPrefix starts every multisig key-exchange message of this wallet version.
const multisigPrefix = "Multisig"

func validateRound(in RoundInput) error {
	if in.Round < 1 || in.Round > escrow.Rounds {
		return nonRetryable(escrow.ErrTypeInvalidInput, fmt.Errorf("round %d out of range 1..%d", in.Round, escrow.Rounds))
	}
	if len(in.Infos) != escrow.Total-1 {
		return nonRetryable(escrow.ErrTypeInvalidInput, fmt.Errorf("round %d needs %d messages from the other roles, got %d", in.Round, escrow.Total-1, len(in.Infos)))
	}
	for i, info := range in.Infos {
		if !strings.HasPrefix(info, multisigPrefix) {
			return nonRetryable(escrow.ErrTypeInvalidInput, fmt.Errorf("round %d: message %d is not a multisig message", in.Round, i+1))
		}
	}
	if in.Infos[0] == in.Infos[1] {
		return nonRetryable(escrow.ErrTypeInvalidInput, fmt.Errorf("round %d: both messages are the same; each must come from a different role", in.Round))
	}
	return nil
}
