package escrow

import (
	"testing"
	"time"
)

// TestMinRetentionCoversTheDefaultTimings fails when a default wait grows past what the
// retention bound was derived from: raise MinRetention (and its comment) with it.
func TestMinRetentionCoversTheDefaultTimings(t *testing.T) {
	const setup = 24 * time.Hour // workflows' capacityWait
	d := Timing{}.WithDefaults()
	life := setup + LongestTerm(Timing{}, StatusSettingUp, 0, 0) + d.LateMoneyGrace
	if MinRetention != life {
		t.Errorf("MinRetention = %s, but setup + LongestTerm + LateMoneyGrace = %s", MinRetention, life)
	}
	if payout := d.SettleWait + d.UnlockWait + time.Duration(d.PayoutConfirmations)*BlockTime; payout > forkMargin/2 {
		t.Errorf("an unparked payout takes up to %s, more than half of the %s allowed for it", payout, forkMargin)
	}
}
