package worker

import (
	"context"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// EnvHost names the environment variable that overrides the host name a worker announces.
const EnvHost = "XMR_ESCROW_HOST"

// beatEvery is how often a worker announces its instances in the shared lease table, and
// liveFor how long an announcement counts: an instance of a host that stopped beating (a
// crash, a power cut) takes no new setup after liveFor.
const (
	beatEvery = 2 * time.Second
	liveFor   = 10 * time.Second
)

// gaugeEvery is how often the placement gauges are read from the database.
const gaugeEvery = 30 * time.Second

// DefaultHost is the host name a worker announces when none is configured: $XMR_ESCROW_HOST,
// or the machine's hostname. Roles are spread over distinct names, so two workers on one
// machine (one disk) must not be given two names unless their wallet dirs are on two disks.
func DefaultHost() string {
	if h := os.Getenv(EnvHost); h != "" {
		return h
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// announcer keeps this worker's instances announced in the shared lease table while it runs.
type announcer struct {
	store *store.Store
	host  string
	beats func() []store.InstanceBeat
	log   *zap.Logger
	stop  context.CancelFunc
	done  sync.WaitGroup
}

// start announces the instances once, so that setups can be placed on them as soon as this
// worker polls, then keeps announcing them until stopped.
func (p *announcer) start(onTick, onBeat func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	p.beat(ctx)
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		t := time.NewTicker(beatEvery)
		defer t.Stop()
		var last time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			p.beat(ctx)
			if onBeat != nil {
				onBeat(ctx)
			}
			if onTick != nil && time.Since(last) >= gaugeEvery {
				onTick(ctx)
				last = time.Now()
			}
		}
	}()
}

// beat writes one heartbeat; a failure is logged and the next beat tries again. Missing
// beats only make this host's instances look dead to placement, which is the safe side.
func (p *announcer) beat(ctx context.Context) {
	bctx, cancel := context.WithTimeout(ctx, beatEvery*2)
	defer cancel()
	if err := p.store.BeatInstances(bctx, p.host, p.beats()); err != nil && ctx.Err() == nil {
		p.log.Warn("announce wallet-rpc instances for placement", zap.String("host", p.host), zap.Error(err))
	}
}

// retire stops the heartbeats and marks the instances gone, so no new setup is placed on a
// worker that is stopping.
func (p *announcer) retire(instances []string) {
	if p.stop == nil {
		return
	}
	p.stop()
	p.done.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.store.RetireInstances(ctx, instances, liveFor); err != nil {
		p.log.Warn("retire wallet-rpc instances from placement; they leave it when their heartbeat ages", zap.Error(err))
	}
}

// placementGauges reads the deployment-wide placement figures into the metrics.
func (w *Worker) placementGauges(ctx context.Context) {
	if w.metrics == nil {
		return
	}
	if w.watcher != nil {
		st := w.watcher.Stats()
		w.metrics.SetWatcher(st.Leading, st.Height, st.Watched, st.Seen, st.UnreadTxs, st.UnreadOutputs)
	}
	sharing, err := w.store.CountEscrowsSharingAHost(ctx)
	if err != nil {
		w.log.Debug("count escrows sharing a host", zap.Error(err))
		return
	}
	waiting, err := w.store.CountLeaseWaiters(ctx)
	if err != nil {
		w.log.Debug("count setups waiting for capacity", zap.Error(err))
		return
	}
	w.metrics.SetPlacement(sharing, waiting)
	pool, err := w.store.CountInstances(ctx, liveFor)
	if err != nil {
		w.log.Debug("count wallet-rpc instances", zap.Error(err))
		return
	}
	w.metrics.SetInstances(pool.Live, pool.Leased, pool.Wanted)
	if w.cfg.PoolStats != nil {
		st := w.cfg.PoolStats()
		w.metrics.SetPool(st.Instances, st.MaxInstances, st.MemoryBytes, st.MemoryBudgetBytes)
	}
}
