package worker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestOnlyInstancesHeldIdleCountTowardsGrowth: an instance counts as held idle (a setup in a
// purge timer) once it ran a step and then none for the threshold; one that runs a step, or
// never ran one (free: a waiting setup would be placed there), does not.
func TestOnlyInstancesHeldIdleCountTowardsGrowth(t *testing.T) {
	now := time.Now()
	ran := func(ago time.Duration) *stepTracker {
		s := &stepTracker{}
		s.lastDone.Store(now.Add(-ago).UnixNano())
		return s
	}
	running := ran(time.Minute)
	running.running.Add(1)
	w := &Worker{trackers: []*stepTracker{ran(5 * time.Second), ran(4 * time.Second), ran(time.Second), running, {}}}
	assert.Equal(t, 2, w.idleInstances(growIdleFor), "only the two that ran a step and then none for 3 s")
	assert.False(t, (&stepTracker{}).idleFor(growIdleFor, now), "never used: free, not held")
}
