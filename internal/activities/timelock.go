package activities

import (
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// unlockTimeIsTime is CRYPTONOTE_MAX_BLOCK_NUMBER: an unlock_time below it is a block
// height, at or above it a Unix time.
const unlockTimeIsTime = 500_000_000

// blockSeconds is DIFFICULTY_TARGET_V2, the target time between blocks, used to turn the
// normal lock into seconds for a time-based unlock_time.
const blockSeconds = 120

// countsAsFunding is the rule of docs/design.md "Invariants that hold the money": a payment
// counts only if it is spendable within the normal 10-block lock, because a sweep cannot
// spend outputs whose unlock_time lies beyond it and the payout would strand them.
// walletHeight stands in for the height of a payment still in the pool (height 0): it will
// be mined at or above it, so a payment that counts now keeps counting once mined.
func countsAsFunding(t walletrpc.Transfer, walletHeight uint64) bool {
	u := t.UnlockTime
	switch {
	case u == 0:
		return true
	case u < unlockTimeIsTime:
		h := t.Height
		if h == 0 {
			h = walletHeight
		}
		return u <= h+escrow.NormalLockBlocks
	default:
		return u <= t.Timestamp+escrow.NormalLockBlocks*blockSeconds
	}
}

// timeLocked collects payments that do not count: all of them summed, at most
// escrow.MaxTimeLocked listed, so a flood of them cannot grow the escrow's state.
type timeLocked struct {
	atomic   uint64
	payments []escrow.TimeLockedPayment
}

func (l *timeLocked) add(t walletrpc.Transfer) {
	l.atomic += t.Amount
	if len(l.payments) < escrow.MaxTimeLocked {
		l.payments = append(l.payments, escrow.TimeLockedPayment{TxID: t.TxID, AmountAtomic: t.Amount, UnlockTime: t.UnlockTime})
	}
}
