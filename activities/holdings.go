package activities

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// Holdings sorts the outputs an escrow's wallet holds by what a payout can do with them. It
// is exact only on a signer that has just imported the other's export info: before that, the
// wallet does not know the key images of new outputs, nor which of its outputs were spent.
type Holdings struct {
	// SpendableAtomic is what a payout can spend now: unlocked outputs with known key
	// images, each worth at least Dust.BelowAtomic. SpendableOutputs counts them.
	SpendableAtomic  uint64 `json:"spendable_atomic,omitempty"`
	SpendableOutputs int    `json:"spendable_outputs,omitempty"`
	// UnsyncedAtomic is unlocked but not yet spendable: its key image needs the other
	// signer's export info (an export/import makes it spendable).
	UnsyncedAtomic uint64 `json:"unsynced_atomic,omitempty"`
	// LockedAtomic is mined and unlocks within the normal lock from now; PendingAtomic is in
	// the pool. Both join a payout that waits a little.
	LockedAtomic  uint64 `json:"locked_atomic,omitempty"`
	PendingAtomic uint64 `json:"pending_atomic,omitempty"`
	// Dust is what no payout spends: outputs worth less than one more input costs.
	Dust *escrow.Dust `json:"dust,omitempty"`
	// TimeLocked lists payments locked beyond the normal lock from now (BalanceResult's
	// TimeLockedAtomic sums them).
	TimeLocked []escrow.TimeLockedPayment `json:"time_locked,omitempty"`
	// Height is the wallet's height at the check.
	Height uint64 `json:"height,omitempty"`
}

// Coming is what is on its way to being spendable: locked, in the pool, or waiting for a sync.
func (h Holdings) Coming() uint64 { return h.UnsyncedAtomic + h.LockedAtomic + h.PendingAtomic }

// Held is everything the escrow could pay out, now or soon (dust and time-locks aside).
func (h Holdings) Held() uint64 { return h.SpendableAtomic + h.Coming() }

// FallbackDustAtomic is the dust threshold of a worker that cannot ask monerod for the fee
// (no daemon URL): 0.0001 XMR, about four times the cost of one input at mainnet's normal
// priority in 2026. A payout that finds it too low is refused by the wallet and retried.
const FallbackDustAtomic = 100_000_000

// dustMargin raises the measured threshold by a quarter: fees move between this check and the
// build, and an output the wallet would skip must never be counted as spendable.
const dustMargin = 4

// dustThreshold is what one more input costs at the wallet's default priority or above:
// monerod's fee per byte for priority 2 times the weight of an input. wallet2 skips outputs
// below the same product at the priority it picks (ignore_fractional_outputs, priority 1 or 2
// by default), so every output at or above it is one the wallet spends.
func (w *Wallet) dustThreshold(ctx context.Context) (uint64, error) {
	if w.daemon == nil {
		return FallbackDustAtomic, nil
	}
	fees, err := w.daemon.GetFeeEstimate(ctx)
	if err != nil {
		return 0, fmt.Errorf("fee estimate: %w", err)
	}
	perByte := fees.Fee
	if len(fees.Fees) >= 2 {
		perByte = fees.Fees[1]
	}
	weight, err := w.weight.get(ctx, w.rpc)
	if err != nil {
		return 0, fmt.Errorf("input weight: %w", err)
	}
	t := perByte * weight
	return t + t/dustMargin, nil
}

// inputWeightTTL is how long an instance's input weight is reused. The weight depends only
// on the wallet-rpc's release and the fork rules, never on a wallet or another process; it
// costs two estimate_tx_size_and_weight calls, about 65 ms each on 0.18.5.3, and every
// holdings check needs it. An hour bounds how long a fork's new rules could go unseen.
const inputWeightTTL = time.Hour

// inputWeight remembers walletrpc.Client.InputWeight for inputWeightTTL.
type inputWeight struct {
	mu     sync.Mutex
	weight uint64
	at     time.Time
}

// get returns the remembered weight, or asks rpc for it.
func (iw *inputWeight) get(ctx context.Context, rpc *walletrpc.Client) (uint64, error) {
	iw.mu.Lock()
	defer iw.mu.Unlock()
	if iw.weight > 0 && time.Since(iw.at) < inputWeightTTL {
		return iw.weight, nil
	}
	weight, err := rpc.InputWeight(ctx)
	if err != nil {
		return 0, err
	}
	iw.weight, iw.at = weight, time.Now()
	return weight, nil
}

// holdings reads the open wallet's outputs and sorts them, with the wallet's incoming and
// pool transfers res (the wallet must be refreshed).
func (w *Wallet) holdings(ctx context.Context, height uint64, res walletrpc.GetTransfersResult) (Holdings, error) {
	out := Holdings{Height: height}
	below, err := w.dustThreshold(ctx)
	if err != nil {
		return out, err
	}
	outs, err := w.rpc.IncomingTransfers(ctx, walletrpc.IncomingTransfersRequest{TransferType: walletrpc.IncomingAvailable})
	if err != nil {
		return out, err
	}
	payments := make(map[string]walletrpc.Transfer, len(res.In))
	for _, t := range res.In {
		payments[t.TxID] = t
	}
	dust := escrow.Dust{BelowAtomic: below}
	var locked timeLocked
	now := uint64(max(time.Now().Unix(), 0))
	for _, o := range outs.Transfers {
		switch t, known := payments[o.TxHash]; {
		case o.Spent:
		case o.Amount < below:
			dust.AmountAtomic += o.Amount
			dust.Outputs++
		case !o.Unlocked && known && !escrow.UnlocksInTime(t.UnlockTime, max(height, t.Height), max(now, t.Timestamp)):
			locked.add(walletrpc.Transfer{TxID: o.TxHash, Amount: o.Amount, UnlockTime: t.UnlockTime})
		case !o.Unlocked:
			out.LockedAtomic += o.Amount
		case o.KeyImage == "":
			out.UnsyncedAtomic += o.Amount
		default:
			out.SpendableAtomic += o.Amount
			out.SpendableOutputs++
		}
	}
	for _, t := range res.Pool {
		if t.Amount >= below { // dust in the pool is dust once mined: nothing to wait for
			out.PendingAtomic += t.Amount
		}
	}
	out.Dust, out.TimeLocked = &dust, locked.payments
	return out, nil
}
