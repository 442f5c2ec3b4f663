package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/xmr-escrow/xmr-escrow/internal/rpcinstance"
	"go.uber.org/zap"
)

// ErrBudget is a Grow refused because the pool is at its Max or its memory budget.
var ErrBudget = fmt.Errorf("supervisor: the wallet-rpc pool is at its budget: %w", rpcinstance.ErrNoGrowth)

// Grow starts n more wallet-rpc instances, within Max and MemoryBudget, and returns them as
// worker config for the caller to serve. This is what makes the purge timers cost no
// throughput: a setup keeps its three instances through both timers (sharing one would
// cost an open_wallet on most steps), so setups that wait for a lease get new instances
// instead. An instance once added stays: its wallet dir holds escrows' wallets, and Start
// serves every such dir after a restart. It returns ErrBudget when none may be added.
func (s *Supervisor) Grow(ctx context.Context, n int) ([]rpcinstance.Instance, error) {
	s.growing.Lock()
	defer s.growing.Unlock()
	have := len(s.all())
	n = min(n, s.room(have))
	if n <= 0 {
		return nil, ErrBudget
	}
	ins := make([]*instance, 0, n)
	for i := have + 1; i <= have+n; i++ {
		in, err := newInstance(s.o, i)
		if err != nil {
			return nil, err
		}
		ins = append(ins, in)
	}
	if err := s.own(ctx, ins); err != nil {
		return nil, err
	}
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Go(func() { errs[i] = in.start(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, in := range ins {
			if r := in.cur.Load(); r != nil {
				_ = r.Stop()
			}
		}
		return nil, fmt.Errorf("supervisor: grow: %w", err)
	}
	s.mu.Lock()
	s.instances = append(s.instances, ins...)
	s.mu.Unlock()
	for _, in := range ins {
		s.wg.Go(func() { s.watch(s.watchCtx, in) })
	}
	s.o.Logger.Info("wallet-rpc pool grew", zap.Int("added", n), zap.Int("instances", have+n), zap.Int64("rss_bytes", s.Memory()))
	return describe(ins), nil
}

// room is how many instances may still be added to a pool of have.
func (s *Supervisor) room(have int) int {
	n := max(s.o.Max, s.o.Count) - have
	if s.o.MemoryBudget > 0 && have > 0 {
		per := s.Memory() / int64(have)
		if per > 0 {
			n = min(n, int((s.o.MemoryBudget-s.Memory())/per))
		}
	}
	return max(n, 0)
}

// Serves reports whether the named instance is one of this pool's.
func (s *Supervisor) Serves(name string) bool { return s.find(name) != nil }

// Size is how many instances the pool has now.
func (s *Supervisor) Size() int { return len(s.all()) }

// Stats reads the pool's size against its budget, for the worker's gauges.
func (s *Supervisor) Stats() rpcinstance.PoolStats {
	return rpcinstance.PoolStats{Instances: s.Size(), MaxInstances: max(s.o.Max, s.o.Count), MemoryBytes: s.Memory(), MemoryBudgetBytes: s.o.MemoryBudget}
}

// Memory sums the resident memory of the pool's running processes, from /proc.
func (s *Supervisor) Memory() int64 {
	var total int64
	for _, in := range s.all() {
		if r := in.cur.Load(); r != nil {
			total += rss(r.Proc.Pid())
		}
	}
	return total
}

// rss reads a process's VmRSS in bytes; 0 if it cannot be read.
func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// grownDirs returns the highest N of the dir's rpc-N wallet dirs, so Start serves the
// instances an earlier Grow added.
func grownDirs(dir string) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	top := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		num, ok := strings.CutPrefix(e.Name(), "rpc-")
		if n, err := strconv.Atoi(num); ok && err == nil && n > top {
			top = n
		}
	}
	return top
}
