package activities

import (
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// countsAsFunding applies escrow.UnlocksInTime to a wallet transfer. walletHeight stands in
// for the height of a payment still in the pool (height 0): it will be mined at or above it.
func countsAsFunding(t walletrpc.Transfer, walletHeight uint64) bool {
	h := t.Height
	if h == 0 {
		h = walletHeight
	}
	return escrow.UnlocksInTime(t.UnlockTime, h, t.Timestamp)
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
