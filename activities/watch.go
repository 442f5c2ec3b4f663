package activities

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/moneroaddr"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// Watches keeps the escrows awaiting payment for the block watcher (store.Store): each
// multisig address with its view key, sealed, and the height to look from. The watcher scans
// every block and the pool with those keys and signals an escrow when it sees a payment, so
// the escrow need not poll its wallet often.
type Watches interface {
	RegisterWatch(ctx context.Context, w store.Watch) error
	// FollowPayout makes the watcher follow a payout's transactions (store.FollowPayout).
	FollowPayout(ctx context.Context, escrowID string, hashes []string, target uint64) error
	// FollowFunding makes the watcher follow the funding payments until they are deep enough
	// (store.FollowFunding).
	FollowFunding(ctx context.Context, escrowID string, hashes []string, target uint64) error
}

// WatchMargin is how many blocks below the wallet's height the watcher starts, so that a
// payment made just before the registration is still scanned.
const WatchMargin = 10

// RegisterWatchInput names the escrow whose address the block watcher is to watch, and the
// role whose wallet reads the key.
type RegisterWatchInput struct {
	EscrowID string      `json:"escrow_id"`
	Role     escrow.Role `json:"role"`
	// Address is the multisig address as the workflow knows it; the wallet must agree.
	Address string `json:"address"`
	// Late is set when a finished escrow registers for its late-money grace period: the
	// registration is the same, only the log says so.
	Late bool `json:"late,omitempty"`
}

// RegisterWatchResult says whether the watcher has the address. It never carries the key:
// it is recorded in the workflow's history.
type RegisterWatchResult struct {
	// Registered is false when this worker keeps no watches (a participant's own worker).
	Registered bool `json:"registered"`
	// FromHeight is where the watcher starts; Height is the wallet's height it came from.
	FromHeight uint64 `json:"from_height,omitempty"`
	Height     uint64 `json:"height,omitempty"`
	Opens      int    `json:"opens"`
}

// RegisterWatch reads the private view key (query_key) and height of the role's wallet and
// records them, with the multisig address, for the block watcher. The key goes from the
// wallet-rpc to the store, which seals it, and nowhere else: not into the result, not into a
// log line. A key that is not 32 hex bytes or not the address's, or an address other than the
// escrow's, is a protocol error no retry fixes; a database that is down is retried.
func (w *Wallet) RegisterWatch(ctx context.Context, in RegisterWatchInput) (RegisterWatchResult, error) {
	name, err := walletName(in.EscrowID, in.Role)
	if err != nil {
		return RegisterWatchResult{}, err
	}
	if w.watches == nil {
		activity.GetLogger(ctx).Info("this worker keeps no block watches; the escrow polls for its payment", "escrow", in.EscrowID)
		return RegisterWatchResult{}, nil
	}
	if _, err := moneroaddr.Parse(in.Address); err != nil {
		return RegisterWatchResult{}, nonRetryable(escrow.ErrTypeInvalidInput, fmt.Errorf("register watch of %s: %w", name, err))
	}
	if err := w.yieldToSetup(ctx, in.EscrowID, yieldPoll); err != nil {
		return RegisterWatchResult{}, err
	}
	var (
		out     RegisterWatchResult
		address string
		hexKey  string
	)
	out.Opens, err = w.withWallet(ctx, name, func(ctx context.Context) error {
		// Refreshed first, so the height is the chain's and not that of a wallet that has
		// not synced since its creation (a low height only costs the watcher a longer scan).
		if _, err := w.rpc.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
			return err
		}
		h, err := w.rpc.GetHeight(ctx)
		if err != nil {
			return err
		}
		a, err := w.rpc.GetAddress(ctx, walletrpc.GetAddressRequest{})
		if err != nil {
			return err
		}
		k, err := w.rpc.QueryKey(ctx, walletrpc.QueryKeyRequest{KeyType: walletrpc.KeyTypeViewKey})
		if err != nil {
			return err
		}
		out.Height, address, hexKey = h.Height, a.Address, k.Key
		return nil
	})
	if err != nil {
		return RegisterWatchResult{}, classify(fmt.Errorf("register watch of %s: %w", name, err))
	}
	watch := store.Watch{EscrowID: in.EscrowID, Address: address, FromHeight: out.Height - min(out.Height, WatchMargin)}
	defer clear(watch.ViewKey[:])
	if err := checkWatch(name, in.Address, hexKey, &watch); err != nil {
		return RegisterWatchResult{}, err
	}
	if err := w.watches.RegisterWatch(ctx, watch); err != nil {
		err = fmt.Errorf("register watch of %s: %w", name, err)
		if errors.Is(err, store.ErrInvalid) {
			return RegisterWatchResult{}, nonRetryable(escrow.ErrTypeInvalidInput, err)
		}
		return RegisterWatchResult{}, err
	}
	out.Registered, out.FromHeight = true, watch.FromHeight
	activity.GetLogger(ctx).Info("escrow registered with the block watcher", "escrow", in.EscrowID, "from_height", watch.FromHeight, "late_money", in.Late)
	return out, nil
}

// checkWatch decodes the wallet's view key into watch and checks it against the escrow's
// address. Its errors never quote the key, not even a character of it (encoding/hex's
// errors would).
func checkWatch(name, want, hexKey string, watch *store.Watch) error {
	protocol := func(format string, args ...any) error {
		return nonRetryable(escrow.ErrTypeProtocol, fmt.Errorf("register watch of %s: "+format, append([]any{name}, args...)...))
	}
	if watch.Address != want {
		return protocol("the wallet reports address %.12s…, the escrow's is %.12s…", watch.Address, want)
	}
	a, err := moneroaddr.Parse(watch.Address)
	if err != nil {
		return protocol("the wallet's address: %w", err)
	}
	if len(hexKey) != 2*len(watch.ViewKey) {
		return protocol("wallet-rpc's view key has %d characters, want %d hex", len(hexKey), 2*len(watch.ViewKey))
	}
	if _, err := hex.Decode(watch.ViewKey[:], []byte(hexKey)); err != nil {
		return protocol("wallet-rpc's view key is not hex")
	}
	if !a.MatchesViewKey(watch.ViewKey) {
		return protocol("wallet-rpc's view key is not the one of the wallet's address")
	}
	return nil
}

// FollowInput names the transactions the block watcher is to follow for an escrow (its
// payout's, or its funding payments for FollowFunding), and the depth the escrow waits for.
type FollowInput struct {
	EscrowID string   `json:"escrow_id"`
	TxHashes []string `json:"tx_hashes"`
	Target   uint64   `json:"target"`
}

// FollowResult says whether the watcher follows them: false on a worker that keeps no
// watches, whose escrows poll their payouts as before.
type FollowResult struct {
	Following bool `json:"following"`
}

// FollowPayout records a payout's transaction hashes for the block watcher, replacing the
// ones it followed for the escrow before. It needs no wallet: it runs on the watching role's
// queue only because that worker's configuration says whether a watcher runs. Hashes that
// are not hashes are an input error no retry fixes; a database that is down is retried.
func (w *Wallet) FollowPayout(ctx context.Context, in FollowInput) (FollowResult, error) {
	if w.watches == nil {
		return FollowResult{}, nil
	}
	return w.follow(ctx, "payout", in, w.watches.FollowPayout)
}

// FollowFunding records the funding payments still confirming for the block watcher, which
// signals payment-seen once they are all Target deep (or one is gone), so the escrow checks
// then rather than at its next poll. Like FollowPayout, it needs no wallet, and a payout
// followed already is kept.
func (w *Wallet) FollowFunding(ctx context.Context, in FollowInput) (FollowResult, error) {
	if w.watches == nil {
		return FollowResult{}, nil
	}
	return w.follow(ctx, "funding payments", in, w.watches.FollowFunding)
}

// follow hands in's hashes to the watcher with record; what names them in errors and logs.
func (w *Wallet) follow(ctx context.Context, what string, in FollowInput, record func(context.Context, string, []string, uint64) error) (FollowResult, error) {
	if err := record(ctx, in.EscrowID, in.TxHashes, in.Target); err != nil {
		err = fmt.Errorf("follow the %s of %s: %w", what, in.EscrowID, err)
		if errors.Is(err, store.ErrInvalid) {
			return FollowResult{}, nonRetryable(escrow.ErrTypeInvalidInput, err)
		}
		return FollowResult{}, err
	}
	activity.GetLogger(ctx).Info(what+" followed by the block watcher", "escrow", in.EscrowID, "tx_hashes", in.TxHashes)
	return FollowResult{Following: true}, nil
}
