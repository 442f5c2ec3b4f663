package scan

import (
	"sync"
	"sync/atomic"
)

// parallel calls f(w, i) for every i in [0, n) on up to workers goroutines,
// w being the goroutine's number, so f can use per-goroutine scratch space
// without locks. Units are handed out one at a time: their costs vary (a
// transaction with additional keys costs one derivation per output).
func parallel(workers, n int, f func(w, i int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			f(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(w, i)
			}
		})
	}
	wg.Wait()
}
