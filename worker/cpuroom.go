package worker

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A host whose cores were busy less than growBusyBelow of the time over the last heartbeat
// has room for another setup: one setup computes on about 1.5 of 2 cores, and its Temporal
// round trips leave the rest idle. growCooldown lets a grow's new setups start computing
// before the next sample may call for more.
const (
	growBusyBelow = 0.75
	growCooldown  = 6 * time.Second
)

// cpuRoom samples the host's CPU (/proc/stat) once per heartbeat.
type cpuRoom struct {
	mu          sync.Mutex
	busy, total uint64 // jiffies at the last sample; 0 before the first
	lastGrow    time.Time
	// read samples the cores; nil reads /proc/stat (readCPU). Tests replace it.
	read func() (busy, total uint64, ok bool)
}

// roomy takes a sample and reports whether the host's cores were busy below growBusyBelow
// since the previous one, and no grow on this ground happened within growCooldown. Where
// /proc/stat cannot be read it reports false: the pool then grows on purge timers alone.
func (c *cpuRoom) roomy(now time.Time) bool {
	read := c.read
	if read == nil {
		read = readCPU
	}
	busy, total, ok := read()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok {
		return false
	}
	prevBusy, prevTotal := c.busy, c.total
	c.busy, c.total = busy, total
	if prevTotal == 0 || total <= prevTotal || now.Sub(c.lastGrow) < growCooldown {
		return false
	}
	return float64(busy-prevBusy)/float64(total-prevTotal) < growBusyBelow
}

// grew records a grow made because the host had room.
func (c *cpuRoom) grew(now time.Time) {
	c.mu.Lock()
	c.lastGrow = now
	c.mu.Unlock()
}

// readCPU returns the busy and total jiffies of all cores from /proc/stat's first line.
func readCPU() (busy, total uint64, ok bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	defer func() { _ = f.Close() }()
	line, err := bufio.NewReader(f).ReadString('\n')
	fields := strings.Fields(line)
	if err != nil || len(fields) < 9 || fields[0] != "cpu" {
		return 0, 0, false
	}
	// user nice system idle iowait irq softirq steal (guest time is counted in user).
	for i, s := range fields[1:9] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += v
		if i != 3 && i != 4 {
			busy += v
		}
	}
	return busy, total, true
}
