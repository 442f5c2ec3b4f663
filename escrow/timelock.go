package escrow

import "time"

// unlockTimeIsTime is CRYPTONOTE_MAX_BLOCK_NUMBER: an unlock_time below it is a block
// height, at or above it a Unix time.
const unlockTimeIsTime = 500_000_000

// blockSeconds is DIFFICULTY_TARGET_V2, the target time between blocks, used to turn the
// normal lock into seconds for a time-based unlock_time.
const blockSeconds = 120

// UnlocksInTime is the rule of docs/design.md "Invariants that hold the money": a payment
// counts only if it is spendable within the normal 10-block lock, because a sweep cannot
// spend outputs whose unlock_time lies beyond it and the payout would strand them. height is
// the payment's block (for one still in the pool, the height it can be mined at first: a
// payment that counts then keeps counting once mined); unixTime is its block's timestamp.
// The wallet's funding check and the workflow's reading of a block watcher's sighting both
// apply it, so the two never disagree.
func UnlocksInTime(unlockTime, height, unixTime uint64) bool {
	switch {
	case unlockTime == 0:
		return true
	case unlockTime < unlockTimeIsTime:
		return unlockTime <= height+normalLockBlocks
	default:
		return unlockTime <= unixTime+normalLockBlocks*blockSeconds
	}
}

// TimeLocked reports whether the block watcher's sighting is a payment that cannot count
// (UnlocksInTime fails), so the escrow need not ask its wallet about it. It leans towards a
// check: a sighting whose height is unknown (a watcher that does not send NextHeight) is
// never time-locked by height, and a time-based lock is measured from now, which is at or
// after the block's time.
func (p PaymentSeen) TimeLocked(now time.Time) bool {
	height := p.Height
	if height == 0 {
		height = p.NextHeight
	}
	if p.UnlockTime < unlockTimeIsTime && height == 0 {
		return false
	}
	return !UnlocksInTime(p.UnlockTime, height, uint64(max(now.Unix(), 0)))
}
