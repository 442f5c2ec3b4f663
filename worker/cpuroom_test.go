package worker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestAHostWithIdleCoresHasRoomForAnotherSetupOncePerCooldown(t *testing.T) {
	busy, total := uint64(1000), uint64(4000) // jiffies since boot
	c := &cpuRoom{read: func() (uint64, uint64, bool) { return busy, total, true }}
	at := time.Unix(1_000_000, 0)
	step := func(b, t uint64) { busy, total = busy+b, total+t }

	assert.False(t, c.roomy(at), "the first sample has nothing to compare with")
	step(50, 100)
	assert.True(t, c.roomy(at.Add(2*time.Second)), "half the cores idle: room")
	step(90, 100)
	assert.False(t, c.roomy(at.Add(4*time.Second)), "90% busy: the cores are the limit")

	c.grew(at.Add(4 * time.Second))
	step(10, 100)
	assert.False(t, c.roomy(at.Add(6*time.Second)), "within the cooldown after a grow")
	step(10, 100)
	assert.True(t, c.roomy(at.Add(4*time.Second+growCooldown)), "room again after the cooldown")
}

func TestAHostWithoutProcStatGrowsOnTimersAlone(t *testing.T) {
	c := &cpuRoom{read: func() (uint64, uint64, bool) { return 0, 0, false }}
	assert.False(t, c.roomy(time.Now()))
	assert.False(t, c.roomy(time.Now().Add(time.Minute)))
}

func TestReadCPUParsesThisHostsProcStat(t *testing.T) {
	busy, total, ok := readCPU()
	if !ok {
		t.Fatal("/proc/stat is unreadable here; the worker runs on Linux")
	}
	assert.Greater(t, total, busy)
}
