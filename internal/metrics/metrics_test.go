package metrics

import (
	"sync/atomic"
	"testing"
)

func TestMismatchesAreReadAtScrapeTime(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var rpc1, rpc2 atomic.Int64
	m.CountMismatches("rpc-1", rpc1.Load)
	m.CountMismatches("rpc-2", rpc2.Load)
	rpc1.Add(2)
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != MetricWalletMismatches {
			continue
		}
		if f.GetType().String() != "COUNTER" {
			t.Errorf("%s is a %s, want a counter", MetricWalletMismatches, f.GetType())
		}
		for _, s := range f.GetMetric() {
			got[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
		}
	}
	if len(got) != 2 || got["rpc-1"] != 2 || got["rpc-2"] != 0 {
		t.Fatalf("%s = %v, want rpc-1: 2, rpc-2: 0", MetricWalletMismatches, got)
	}
}
