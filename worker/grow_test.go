package worker

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestThePoolGrowsOnlyWhileItsCPUIdles: a pool whose wallet-rpcs compute near the cores'
// limit gains nothing from more instances (each new one costs a CPU-second of its own), so
// growth waits for a heartbeat in which the pool idled, as it does through purge timers.
func TestThePoolGrowsOnlyWhileItsCPUIdles(t *testing.T) {
	cpu := 0.0
	w := &Worker{cfg: Config{PoolStats: func() PoolStats { return PoolStats{CPUSeconds: cpu} }}}
	assert.False(t, w.poolIdle(), "the first heartbeat has no interval to judge")
	w.lastPoolAt = w.lastPoolAt.Add(-2 * time.Second)
	cpu += 2 * float64(runtime.NumCPU()) * 0.9 // 90 % of the cores over those 2 s
	assert.False(t, w.poolIdle(), "busy computing: more instances would not help")
	w.lastPoolAt = w.lastPoolAt.Add(-2 * time.Second)
	cpu += 0.1
	assert.True(t, w.poolIdle(), "idle (timers): more instances let waiting setups run")
	assert.True(t, (&Worker{}).poolIdle(), "without pool figures it cannot tell, and grows as before")
}
