// Package supervisor runs the worker's own pool of monero-wallet-rpc processes: it starts
// them, restarts one that dies (with back-off), reports which are healthy so new escrows go
// to live instances, and stops them all on exit. Each instance keeps its port, wallet dir
// and credentials across restarts, so its task queue and URL never change and the steps
// queued for it simply wait until it is back. Its name, and so its task queue, is the
// instance ID its wallet dir records (rpcinstance.Ownership.Identify): random and unique across
// hosts for a new dir, "rpc-N" for a dir an older version served under that name.
package supervisor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/internal/rpcinstance"
	"github.com/xmr-escrow/xmr-escrow/internal/walletproc"
)

// Options describe the pool.
type Options struct {
	// Count is how many wallet-rpc processes to run.
	Count int
	// Dir holds one wallet dir per instance, Dir/rpc-i: a stable path for backups and
	// mounts; the instance's name comes from the ID file inside, not from the path.
	Dir string
	// BasePort gives instance i the port BasePort+i-1; 0 picks free ports once.
	BasePort int
	// DaemonAddress connects the pool to a monerod (host:port, trusted); empty runs
	// --offline, which is enough for the multisig setup but not for funding or payouts.
	DaemonAddress string
	// RegtestDaemon says DaemonAddress is a private regtest chain's (walletproc.Options.RegtestDaemon);
	// never set it for a real network.
	RegtestDaemon bool
	// ExtraArgs are passed to every wallet-rpc (e.g. "--daemon-ssl", "disabled").
	ExtraArgs []string
	// NoLogin disables --rpc-login; by default each instance gets random credentials
	// that only this process knows.
	NoLogin bool
	// MinBackoff and MaxBackoff bound the wait before a restart (default 1 s and 30 s).
	MinBackoff, MaxBackoff time.Duration
	// Logger reports deaths and restarts; nil discards.
	Logger *zap.Logger
	// Ownership, if set, locks each instance's wallet dir before its wallet-rpc starts, so
	// a second worker on the same dirs is refused before it spawns anything (the caller
	// passes the same Ownership to the worker and releases it after Stop). If nil, the dirs
	// are locked only while their instance IDs are read or made, and the worker locks them.
	Ownership *rpcinstance.Ownership
	// TakeoverWait is how long to wait for another worker to release the wallet dirs before
	// refusing (a rolling deploy on one host: the old version is stopping); 0 refuses at once.
	TakeoverWait time.Duration
	// Max is how many instances Grow may bring the pool to; 0 means Count (no growth).
	Max int
	// MemoryBudget, if set, also bounds growth by the processes' resident memory (bytes).
	MemoryBudget int64
	// NoKeyCache runs the wallet-rpcs without the key cache (walletproc.Options.NoKeyCache).
	NoKeyCache bool
}

// Supervisor owns the pool's processes.
type Supervisor struct {
	o Options
	// mu guards instances, which Grow appends to while the worker reads them.
	mu        sync.RWMutex
	instances []*instance
	// watchCtx ends the restart loops; Grow starts one per new instance under it.
	watchCtx context.Context
	stop     context.CancelFunc
	wg       sync.WaitGroup
	// growing serialises Grow.
	growing sync.Mutex
}

type instance struct {
	opts     walletproc.Options
	legacy   string // the name an older version gave it, "rpc-N"
	url      string
	cur      atomic.Pointer[walletproc.WalletRPC]
	healthy  atomic.Bool
	restarts atomic.Int64
	log      *zap.Logger
}

// Start names every instance from its wallet dir, starts them all and waits until each
// answers get_version.
func Start(ctx context.Context, o Options) (*Supervisor, error) {
	s, err := prepare(ctx, o)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(s.instances))
	var wg sync.WaitGroup
	for i, in := range s.instances {
		wg.Go(func() { errs[i] = in.start(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		s.stopAll()
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	s.watchCtx, s.stop = context.WithCancel(context.Background())
	for _, in := range s.instances {
		s.wg.Go(func() { s.watch(s.watchCtx, in) })
	}
	return s, nil
}

// prepare lays out the pool and names each instance from its wallet dir, without starting
// any process.
func prepare(ctx context.Context, o Options) (*Supervisor, error) {
	if o.Count <= 0 || o.Dir == "" {
		return nil, errors.New("supervisor: need a Count > 0 and a Dir")
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	s := &Supervisor{o: o}
	// Instances an earlier Grow added hold wallets too: serve every one of them.
	for i := 1; i <= max(o.Count, grownDirs(o.Dir)); i++ {
		in, err := newInstance(o, i)
		if err != nil {
			return nil, err
		}
		s.instances = append(s.instances, in)
	}
	if err := s.own(ctx, s.instances); err != nil {
		return nil, err
	}
	return s, nil
}

// own locks every instance's wallet dir (creating it first, since the lock file lives
// inside), then names the instance from the dir's ID file: under the lock, so two
// processes never both create one. Without o.Ownership the locks last only this long.
func (s *Supervisor) own(ctx context.Context, ins []*instance) error {
	own := s.o.Ownership
	if own == nil {
		own = rpcinstance.NewOwnership(s.o.Logger)
		defer own.Release()
	}
	dirs := make([]string, 0, len(ins))
	for _, in := range ins {
		if err := os.MkdirAll(in.opts.Dir, 0o700); err != nil {
			return fmt.Errorf("supervisor: create wallet dir %s: %w", in.opts.Dir, err)
		}
		dirs = append(dirs, in.opts.Dir)
	}
	if err := rpcinstance.AwaitOwnership(ctx, s.o.TakeoverWait, s.o.Logger, func() error { return own.AcquireAll(dirs) }); err != nil {
		return fmt.Errorf("supervisor: %w", err)
	}
	byName := map[string]string{}
	for _, in := range s.all() {
		if in.opts.Name != "" {
			byName[in.opts.Name] = in.opts.Dir
		}
	}
	for _, in := range ins {
		id, err := own.Identify(in.opts.Dir, in.legacy)
		if err != nil {
			return fmt.Errorf("supervisor: %w", err)
		}
		if other, ok := byName[id.ID]; ok {
			// A copied wallet dir: two processes on one queue would cross wallets.
			return fmt.Errorf("supervisor: wallet dirs %s and %s both belong to instance %s (one is a copy?); move one out of %s", other, in.opts.Dir, id.ID, s.o.Dir)
		}
		byName[id.ID] = in.opts.Dir
		in.opts.Name = id.ID
		fields := []zap.Field{zap.String("instance", id.ID), zap.String("instance_id", string(id.Source)),
			zap.String("wallet_dir", in.opts.Dir), zap.String("url", in.url)}
		if id.Source == rpcinstance.IDAdopted {
			s.o.Logger.Warn("wallet-rpc instance keeps its legacy name: escrows in flight name its queue; another host's instance may share it", fields...)
			continue
		}
		s.o.Logger.Info("wallet-rpc instance", fields...)
	}
	return nil
}

// newInstance lays out instance i; its name is set by own, from its wallet dir.
func newInstance(o Options, i int) (*instance, error) {
	legacy := fmt.Sprintf("rpc-%d", i)
	port := 0
	if o.BasePort > 0 {
		port = o.BasePort + i - 1
	} else {
		var err error
		if port, err = walletproc.FreePort(); err != nil {
			return nil, err
		}
	}
	opts := walletproc.Options{
		Dir: filepath.Join(o.Dir, legacy), Port: port,
		Offline: o.DaemonAddress == "", DaemonAddress: o.DaemonAddress, RegtestDaemon: o.RegtestDaemon, ExtraArgs: o.ExtraArgs,
		NoKeyCache: o.NoKeyCache,
	}
	if !o.NoLogin {
		opts.Username, opts.Password = "escrow", randomHex(16)
	}
	return &instance{opts: opts, legacy: legacy, url: fmt.Sprintf("http://127.0.0.1:%d", port), log: o.Logger}, nil
}

func (in *instance) start(ctx context.Context) error {
	r, err := walletproc.Start(ctx, in.opts)
	if err != nil {
		return err
	}
	if r.KeyCacheOff != "" {
		in.log.Warn("wallet-rpc runs without the key cache (each create_wallet and open_wallet makes its own RSA key)",
			zap.String("instance", in.opts.Name), zap.String("reason", r.KeyCacheOff))
	}
	in.cur.Store(r)
	in.healthy.Store(true)
	return nil
}

// watch restarts the instance whenever its process ends, backing off while restarts
// fail, until ctx ends.
func (s *Supervisor) watch(ctx context.Context, in *instance) {
	log := s.o.Logger.With(zap.String("instance", in.opts.Name))
	backoff := s.o.MinBackoff
	for {
		select {
		case <-ctx.Done():
			return
		case <-in.cur.Load().Proc.Done():
		}
		in.healthy.Store(false)
		log.Warn("wallet-rpc died; restarting", zap.Duration("after", backoff), zap.Error(in.cur.Load().Proc.ExitErr()))
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			start, cancel := context.WithTimeout(ctx, 2*time.Minute)
			err := in.start(start)
			cancel()
			if err == nil {
				in.restarts.Add(1)
				backoff = s.o.MinBackoff
				log.Info("wallet-rpc is back", zap.Int64("restarts", in.restarts.Load()))
				break
			}
			backoff = min(2*backoff, s.o.MaxBackoff)
			log.Error("wallet-rpc restart failed", zap.Error(err), zap.Duration("next_try", backoff))
		}
	}
}

// Instances describes the pool as worker config: names, URLs, wallet dirs, credentials.
func (s *Supervisor) Instances() []rpcinstance.Instance { return describe(s.all()) }

// describe turns instances into worker config.
func describe(ins []*instance) []rpcinstance.Instance {
	out := make([]rpcinstance.Instance, 0, len(ins))
	for _, in := range ins {
		out = append(out, rpcinstance.Instance{Name: in.opts.Name, URL: in.url, WalletDir: in.opts.Dir, Username: in.opts.Username, Password: in.opts.Password})
	}
	return out
}

// all returns the instances now, for reading without the lock.
func (s *Supervisor) all() []*instance {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.instances
}

// Healthy reports whether the named instance's process is up; unknown names are not.
func (s *Supervisor) Healthy(name string) bool {
	in := s.find(name)
	return in != nil && in.healthy.Load()
}

// KeyCache reports whether the named instance's current process has the key cache preloaded
// (walletproc.WalletRPC.KeyCache); started is false for a name this supervisor does not run.
// It is a rpcinstance.KeyCacheOf.
func (s *Supervisor) KeyCache(name string) (preloaded, started bool) {
	in := s.find(name)
	if in == nil {
		return false, false
	}
	r := in.cur.Load()
	return r != nil && r.KeyCache, true
}

// Restarts counts how often the named instance was restarted.
func (s *Supervisor) Restarts(name string) int64 {
	if in := s.find(name); in != nil {
		return in.restarts.Load()
	}
	return 0
}

// Kill ends the named instance's process at once, as a crash would (for tests and drills).
func (s *Supervisor) Kill(name string) error {
	in := s.find(name)
	if in == nil {
		return fmt.Errorf("supervisor: no instance %q", name)
	}
	return in.cur.Load().Proc.Kill()
}

// Pid returns the named instance's current process ID, or 0.
func (s *Supervisor) Pid(name string) int {
	if in := s.find(name); in != nil {
		return in.cur.Load().Proc.Pid()
	}
	return 0
}

// Stop stops restarting and then stops every process (each stores its open wallet).
func (s *Supervisor) Stop() {
	if s.stop != nil {
		s.stop()
	}
	s.wg.Wait()
	s.stopAll()
}

func (s *Supervisor) stopAll() {
	var rpcs []*walletproc.WalletRPC
	for _, in := range s.all() {
		if r := in.cur.Load(); r != nil {
			rpcs = append(rpcs, r)
		}
	}
	_ = walletproc.StopAll(rpcs)
}

func (s *Supervisor) find(name string) *instance {
	for _, in := range s.all() {
		if in.opts.Name == name {
			return in
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
