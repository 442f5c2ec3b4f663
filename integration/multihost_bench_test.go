package integration

import (
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkNineSetupsOnOneHostAndOnTwo measures escrows per minute of nine setups started at
// once on one host (3 instances), then nine more on two (3 each), in the same run, with the
// worker and its wallet-rpcs as real processes:
//
//	go test -count=1 -run XXX -bench NineSetups -benchtime 1x ./integration
//
// On one machine both "hosts" share its cores: the ratio shows what a second pool adds, not
// what a second machine would.
func BenchmarkNineSetupsOnOneHostAndOnTwo(b *testing.B) {
	for b.Loop() {
		s, ctx, bin := processStack(b, 20*time.Minute)
		root := b.TempDir()
		var perMin [2]float64
		for i, prefix := range []string{"one", "two"} {
			name := "host-a"
			if i == 1 {
				name = "host-b"
			}
			startHost(b, ctx, s, bin, name, filepath.Join(root, name))
			began := time.Now()
			awaitReady(b, ctx, s, startBatch(b, ctx, s, prefix, 9))
			perMin[i] = perMinute(9, time.Since(began))
		}
		b.ReportMetric(perMin[0], "escrows/min-one-host")
		b.ReportMetric(perMin[1], "escrows/min-two-hosts")
		b.ReportMetric(perMin[1]/perMin[0], "two/one")
	}
}
