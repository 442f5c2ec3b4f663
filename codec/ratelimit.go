package codec

import (
	"sync"
	"time"
)

const (
	// loginBurst sign-in attempts are allowed at once from one address...
	loginBurst = 10
	// ...and one more each loginRefill after that.
	loginRefill = 6 * time.Second
	// maxLoginBuckets bounds the limiter's memory; past it, new addresses share one bucket.
	maxLoginBuckets = 4096
)

// loginLimiter is a token bucket per remote IP for POST /login. It lives in this process
// only: with several replicas behind a balancer each keeps its own buckets, so the limit is
// per replica. Behind a proxy or Docker's port publishing every client may share the proxy's
// address; then the limit is global, which at worst slows the operator after many failures.
// A successful sign-in gets its attempt back, so only failures count.
type loginLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	burst   float64
	refill  time.Duration
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLoginLimiter(burst int, refill time.Duration) *loginLimiter {
	return &loginLimiter{buckets: map[string]*bucket{}, burst: float64(burst), refill: refill}
}

// overflowKey is the bucket shared by addresses that arrive once the map is full, so that a
// flood of fresh addresses can neither grow memory nor buy fresh attempts.
const overflowKey = "\x00overflow"

// take spends one attempt for ip; when none is left it says how long until one is.
// Taking before the check (and refunding on success) means parallel guesses cannot all slip
// through before the first failure is counted.
func (l *loginLimiter) take(ip string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketFor(ip, now)
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.refill))
	b.last = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.refill))
	}
	b.tokens--
	return true, 0
}

// refund gives back the attempt a successful sign-in took.
func (l *loginLimiter) refund(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[ip]
	if !ok {
		b, ok = l.buckets[overflowKey]
	}
	if ok {
		b.tokens = min(l.burst, b.tokens+1)
	}
}

func (l *loginLimiter) bucketFor(ip string, now time.Time) *bucket {
	if b, ok := l.buckets[ip]; ok {
		return b
	}
	if len(l.buckets) >= maxLoginBuckets {
		// A bucket that has refilled remembers nothing: forget it.
		for k, b := range l.buckets {
			if k != overflowKey && b.tokens+float64(now.Sub(b.last))/float64(l.refill) >= l.burst {
				delete(l.buckets, k)
			}
		}
	}
	if len(l.buckets) >= maxLoginBuckets {
		ip = overflowKey
		if b, ok := l.buckets[ip]; ok {
			return b
		}
	}
	b := &bucket{tokens: l.burst, last: now}
	l.buckets[ip] = b
	return b
}
