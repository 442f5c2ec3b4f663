package projection

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// TestTheWatcherVouchesOnlyWhenItsRecordsCoverTheAddress: each record that leaves room for a
// missed payment makes the safety net ask a wallet, and says why.
func TestTheWatcherVouchesOnlyWhenItsRecordsCoverTheAddress(t *testing.T) {
	good := store.WatchHealth{Registered: true, Backfilled: true, Height: 700, Age: 3 * time.Minute}
	assert.Equal(t, WatchHealthResult{Vouches: true, Height: 700}, judgeHealth(good))
	for name, h := range map[string]store.WatchHealth{
		"not registered":  {Backfilled: true, Height: 700, Age: time.Minute},
		"not backfilled":  {Registered: true, Height: 700, Age: time.Minute},
		"undelivered":     {Registered: true, Backfilled: true, Pending: 1, Height: 700, Age: time.Minute},
		"no block":        {Registered: true, Backfilled: true, Age: -1},
		"stalled watcher": {Registered: true, Backfilled: true, Height: 700, Age: MaxScanAge + time.Second},
	} {
		r := judgeHealth(h)
		assert.False(t, r.Vouches, name)
		assert.NotEmpty(t, r.Reason, name)
	}
}
