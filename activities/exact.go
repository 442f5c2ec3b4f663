package activities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"slices"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// Payouts under escrow.ExactShares: each party gets exactly its share (escrow.Division),
// dust is left alone, and the co-signer checks every destination to the piconero.

// errSpendableMoved is a build that found the escrow's spendable outputs other than the
// holdings check said: something arrived, unlocked or was spent since. The payout syncs again.
var errSpendableMoved = errors.New("the escrow's spendable outputs changed since the holdings check")

// buildExact builds the payout on the open wallet: dust frozen so the wallet spends exactly
// the spendable outputs the workflow divided, one destination swept, several paid with the
// fee subtracted from the one that pays it, so nothing is left as change.
func (w *Wallet) buildExact(ctx context.Context, in PayoutInput, out *CreatePayoutResult) (err error) {
	defer func() {
		// Thawed and stored whatever happened: frozen flags must not outlive the build, or a
		// later co-signature on this wallet could refuse a set that spends them.
		if terr := w.thawAll(ctx); terr != nil && err == nil {
			err = terr
		}
		if serr := w.rpc.Store(ctx); serr != nil && err == nil {
			err = serr
		}
	}()
	if err := w.freezeDust(ctx, in); err != nil {
		return err
	}
	if len(in.Destinations) == 1 {
		r, err := w.rpc.SweepAll(ctx, walletrpc.SweepAllRequest{Address: in.Destinations[0].Address})
		if err != nil {
			return err
		}
		out.Txset, out.TxCount = r.MultisigTxset, max(len(r.TxHashList), len(r.FeeList))
		return nil
	}
	req := walletrpc.TransferRequest{SubtractFeeFromOutputs: []uint32{uint32(in.FeeFrom)}}
	for _, d := range in.Destinations {
		req.Destinations = append(req.Destinations, walletrpc.Destination{Address: d.Address, Amount: d.AmountAtomic})
	}
	r, err := w.rpc.Transfer(ctx, req)
	if err != nil {
		return err
	}
	out.Txset, out.TxCount = r.MultisigTxset, 1
	return nil
}

// freezeDust freezes every unspent output below the dust threshold and thaws the rest, then
// checks that the outputs left to spend sum to what the workflow divided.
func (w *Wallet) freezeDust(ctx context.Context, in PayoutInput) error {
	outs, err := w.rpc.IncomingTransfers(ctx, walletrpc.IncomingTransfersRequest{TransferType: walletrpc.IncomingAvailable})
	if err != nil {
		return err
	}
	var spendable uint64
	for _, o := range outs.Transfers {
		if o.Spent || o.KeyImage == "" {
			continue // the wallet spends neither
		}
		dust := o.Amount < in.DustBelowAtomic
		switch {
		case dust && !o.Frozen:
			err = w.rpc.Freeze(ctx, o.KeyImage)
		case !dust && o.Frozen:
			err = w.rpc.Thaw(ctx, o.KeyImage)
		}
		if err != nil {
			return err
		}
		if !dust && o.Unlocked {
			spendable += o.Amount
		}
	}
	if spendable != in.SpendableAtomic {
		moved := fmt.Errorf("%w: %d now, %d then", errSpendableMoved, spendable, in.SpendableAtomic)
		if spendable > in.SpendableAtomic {
			// Outputs unlocked, synced or arrived since the check: a wait for the next sync.
			// Fewer is not: something spent the escrow's money or a reorg took it back.
			return staleWait(moved)
		}
		return nonRetryable(escrow.ErrTypeStale, moved)
	}
	return nil
}

// thawAll thaws every frozen output of the open wallet.
func (w *Wallet) thawAll(ctx context.Context) error {
	outs, err := w.rpc.IncomingTransfers(ctx, walletrpc.IncomingTransfersRequest{TransferType: walletrpc.IncomingAvailable})
	if err != nil {
		return err
	}
	for _, o := range outs.Transfers {
		if o.Frozen && o.KeyImage != "" {
			if err := w.rpc.Thaw(ctx, o.KeyImage); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkShares is the co-signer's rule under escrow.ExactShares: the set spends exactly the
// spendable money the workflow divided (FundedAtomic), keeps no change, pays no address
// outside the division, stays under the fee cap, and pays every address exactly its share
// (escrow.Division.Divide) once the fee the set pays is taken out.
func checkShares(d walletrpc.DescribeTransferResult, in SignPayoutInput) (amount, fee uint64, shares []escrow.Share, err error) {
	refuse := func(format string, args ...any) (uint64, uint64, []escrow.Share, error) {
		return 0, 0, nil, nonRetryable(escrow.ErrTypePayoutRejected, fmt.Errorf("refusing to sign: "+format, args...))
	}
	if len(d.Desc) == 0 {
		return refuse("no transactions in the set")
	}
	paid := map[string]*checkedSum{}
	var paidSum, feeSum, spentSum checkedSum
	for i, t := range d.Desc {
		if t.ChangeAmount != 0 {
			return refuse("transaction %d keeps %d as change in the escrow", i, t.ChangeAmount)
		}
		for _, r := range t.Recipients {
			if paid[r.Address] == nil {
				paid[r.Address] = &checkedSum{}
			}
			paid[r.Address].add(r.Amount)
			paidSum.add(r.Amount)
		}
		feeSum.add(t.Fee)
		spentSum.add(t.AmountIn)
	}
	if paidSum.over || feeSum.over || spentSum.over {
		return refuse("amounts or fees overflow")
	}
	amount, fee = paidSum.v, feeSum.v
	spent := spentSum.v
	if fee > in.MaxFeeAtomic {
		return refuse("fees %d exceed the sane maximum %d", fee, in.MaxFeeAtomic)
	}
	if spent != in.FundedAtomic {
		return refuse("spends %d, but the escrow's spendable money is %d", spent, in.FundedAtomic)
	}
	if total, c := bits.Add64(amount, fee, 0); c != 0 || total != spent {
		return refuse("pays %d + fees %d from %d spent", amount, fee, spent)
	}
	shares, err = in.Division.Divide(in.FundedAtomic, fee)
	if err != nil {
		return refuse("%v", err)
	}
	// Strangers first, then each share in the division's order: the refusal names the
	// same fault every time.
	want := escrow.ByAddress(shares)
	for _, addr := range slices.Sorted(maps.Keys(paid)) {
		if _, ok := want[addr]; !ok {
			return refuse("pays %d to %.12s…, which the decision does not name", paid[addr].v, addr)
		}
	}
	for _, sh := range shares {
		var got uint64
		if p := paid[sh.Address]; p != nil {
			got = p.v
		}
		if w := want[sh.Address]; got != w {
			return refuse("pays %d to %.12s…, but its share is %d", got, sh.Address, w)
		}
	}
	return amount, fee, shares, nil
}

// checkedSum adds amounts and remembers an overflow: a hostile set may aim for one, so that
// a wrapped sum looks right.
type checkedSum struct {
	v    uint64
	over bool
}

func (s *checkedSum) add(x uint64) {
	var c uint64
	s.v, c = bits.Add64(s.v, x, 0)
	s.over = s.over || c != 0
}
