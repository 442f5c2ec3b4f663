package activities

import (
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// countsAsFunding applies escrow.UnlocksInTime to a wallet transfer, measured from now: the
// wallet's height (a payment is at or below it, or in the pool and mined at or above it) and
// the clock. A payment locked for longer than the normal lock counts once it is that close to
// unlocking: what unlocks later is counted, never stranded.
func countsAsFunding(t walletrpc.Transfer, walletHeight uint64, now time.Time) bool {
	return escrow.UnlocksInTime(t.UnlockTime, max(t.Height, walletHeight), max(t.Timestamp, uint64(max(now.Unix(), 0))))
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
