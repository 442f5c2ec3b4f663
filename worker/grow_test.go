package worker

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestThePoolGrowsOnlyWhileItsCPUIdles: a pool whose wallet-rpcs compute near the cores'
// limit gains nothing from more instances (each new one costs a CPU-second of its own), so
// growth waits for a whole window in which the pool idled, as it does through purge timers.
func TestThePoolGrowsOnlyWhileItsCPUIdles(t *testing.T) {
	cpu := 0.0
	w := &Worker{cfg: Config{PoolStats: func() PoolStats { return PoolStats{CPUSeconds: cpu} }}}
	cores := float64(runtime.NumCPU())
	// beat records a heartbeat as if it came `ago` before now, after the pool used used.
	beat := func(ago time.Duration, used float64) bool {
		cpu += used
		idle := w.poolIdle()
		w.poolSamples[len(w.poolSamples)-1].at = time.Now().Add(-ago)
		return idle
	}
	assert.False(t, beat(12*time.Second, 0), "no whole window yet")
	assert.False(t, beat(0, 12*cores*0.9), "busy computing over the window: more instances would not help")
	w.poolSamples = nil
	beat(12*time.Second, 0)
	assert.True(t, beat(0, 0.5), "idle over the window (timers): more instances let waiting setups run")
	assert.True(t, (&Worker{}).poolIdle(), "without pool figures it cannot tell, and grows as before")
}
