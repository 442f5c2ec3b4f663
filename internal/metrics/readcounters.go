package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// readCounters is a counter family whose values live elsewhere (atomics the activities
// own) and are read at scrape time, one series per label value.
type readCounters struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	read map[string]func() int64
}

func newReadCounters(name, help, label string) *readCounters {
	return &readCounters{desc: prometheus.NewDesc(name, help, []string{label}, nil), read: map[string]func() int64{}}
}

// watch adds (or replaces) the series for label value v.
func (c *readCounters) watch(v string, read func() int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read[v] = read
}

// Describe sends the family's one description.
func (c *readCounters) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect reads every series now.
func (c *readCounters) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for v, read := range c.read {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(read()), v)
	}
}
