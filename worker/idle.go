package worker

import (
	"context"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/interceptor"
)

// stepTracker records, for one instance, whether a step runs on it and when the last one
// ended: an instance leased to a setup that runs no step for a while is holding its wallets
// through a purge timer, which is when more instances let waiting setups run.
type stepTracker struct {
	interceptor.WorkerInterceptorBase
	running  atomic.Int32
	lastDone atomic.Int64 // unix nanoseconds; 0 before the first step
}

// InterceptActivity wraps each activity of the instance's worker.
func (s *stepTracker) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &stepTrackerInbound{s: s}
	i.Next = next
	return i
}

type stepTrackerInbound struct {
	interceptor.ActivityInboundInterceptorBase
	s *stepTracker
}

// ExecuteActivity counts the step while it runs.
func (i *stepTrackerInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	i.s.running.Add(1)
	defer func() {
		i.s.lastDone.Store(time.Now().UnixNano())
		i.s.running.Add(-1)
	}()
	return i.Next.ExecuteActivity(ctx, in)
}

// idleFor reports whether the instance has run no step for at least d (and has run one).
func (s *stepTracker) idleFor(d time.Duration, now time.Time) bool {
	last := s.lastDone.Load()
	return s.running.Load() == 0 && last != 0 && now.Sub(time.Unix(0, last)) >= d
}

// idleInstances counts this worker's instances that have run a step, but none for d.
func (w *Worker) idleInstances(d time.Duration) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, now := 0, time.Now()
	for _, t := range w.trackers {
		if t.idleFor(d, now) {
			n++
		}
	}
	return n
}
