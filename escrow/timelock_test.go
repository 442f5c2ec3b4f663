package escrow

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestATimeLockedSightingIsJudgedByTheWalletsRule: the workflow reads the block watcher's
// unlock_time with the rule the wallet check applies, and leans towards asking the wallet
// wherever the sighting lacks what the rule needs.
func TestATimeLockedSightingIsJudgedByTheWalletsRule(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, c := range []struct {
		name   string
		p      PaymentSeen
		locked bool
	}{
		{"no unlock_time", PaymentSeen{Height: 400}, false},
		{"within the normal lock, mined", PaymentSeen{Height: 400, UnlockTime: 410}, false},
		{"one block beyond, mined", PaymentSeen{Height: 400, UnlockTime: 411}, true},
		{"a thousand blocks ahead, mined", PaymentSeen{Height: 400, UnlockTime: 1400}, true},
		{"a thousand blocks ahead, in the pool", PaymentSeen{InPool: true, NextHeight: 400, UnlockTime: 1400}, true},
		{"within the lock of the next block, in the pool", PaymentSeen{InPool: true, NextHeight: 400, UnlockTime: 410}, false},
		{"in the pool, no height known: ask the wallet", PaymentSeen{InPool: true, UnlockTime: 1400}, false},
		{"a time lock within 20 minutes", PaymentSeen{Height: 400, UnlockTime: uint64(now.Unix()) + 1200}, false},
		{"a time lock a day ahead", PaymentSeen{Height: 400, UnlockTime: uint64(now.Add(24 * time.Hour).Unix())}, true},
		{"a time lock a day ahead, in the pool", PaymentSeen{InPool: true, UnlockTime: uint64(now.Add(24 * time.Hour).Unix())}, true},
	} {
		assert.Equal(t, c.locked, c.p.TimeLocked(now), c.name)
	}
}

// TestUnlocksInTime pins the rule's edges: the normal 10-block lock, and its 20 minutes for a
// time-based unlock_time.
func TestUnlocksInTime(t *testing.T) {
	assert.True(t, UnlocksInTime(0, 5, 0))
	assert.True(t, UnlocksInTime(15, 5, 0))
	assert.False(t, UnlocksInTime(16, 5, 0))
	assert.True(t, UnlocksInTime(unlockTimeIsTime-1, unlockTimeIsTime-1-normalLockBlocks, 0), "the largest height-based unlock_time")
	assert.True(t, UnlocksInTime(1_800_001_200, 5, 1_800_000_000))
	assert.False(t, UnlocksInTime(1_800_001_201, 5, 1_800_000_000))
}
