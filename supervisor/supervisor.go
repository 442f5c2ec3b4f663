// Package supervisor runs the worker's own pool of monero-wallet-rpc processes: it starts
// them, restarts one that dies (with back-off), reports which are healthy so new escrows go
// to live instances, and stops them all on exit. Each instance keeps its port, wallet dir
// and credentials across restarts, so its task queue and URL never change and the steps
// queued for it simply wait until it is back.
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

	"github.com/xmr-escrow/xmr-escrow/devstack"
	"github.com/xmr-escrow/xmr-escrow/worker"
)

// Options describe the pool.
type Options struct {
	// Count is how many wallet-rpc processes to run, named rpc-1..rpc-N.
	Count int
	// Dir holds one wallet dir per instance (Dir/rpc-i) and their logs.
	Dir string
	// BasePort gives instance i the port BasePort+i-1; 0 picks free ports once.
	BasePort int
	// DaemonAddress connects the pool to a monerod (host:port, trusted); empty runs
	// --offline, which is enough for the multisig setup but not for funding or payouts.
	DaemonAddress string
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
	// passes the same Ownership to the worker and releases it after Stop).
	Ownership *worker.Ownership
}

// Supervisor owns the pool's processes.
type Supervisor struct {
	o         Options
	instances []*instance
	stop      context.CancelFunc
	wg        sync.WaitGroup
}

type instance struct {
	opts     devstack.WalletRPCOptions
	url      string
	cur      atomic.Pointer[devstack.WalletRPC]
	healthy  atomic.Bool
	restarts atomic.Int64
}

// Start starts every instance and waits until each answers get_version.
func Start(ctx context.Context, o Options) (*Supervisor, error) {
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
	for i := 1; i <= o.Count; i++ {
		in, err := newInstance(o, i)
		if err != nil {
			return nil, err
		}
		s.instances = append(s.instances, in)
	}
	if err := s.own(); err != nil {
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
	watch, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	for _, in := range s.instances {
		s.wg.Go(func() { s.watch(watch, in) })
	}
	return s, nil
}

// own takes every instance's wallet dir into o.Ownership, creating the dirs first since
// the lock file lives inside them.
func (s *Supervisor) own() error {
	if s.o.Ownership == nil {
		return nil
	}
	dirs := make([]string, 0, len(s.instances))
	for _, in := range s.instances {
		if err := os.MkdirAll(in.opts.Dir, 0o700); err != nil {
			return fmt.Errorf("supervisor: create wallet dir of %s: %w", in.opts.Name, err)
		}
		dirs = append(dirs, in.opts.Dir)
	}
	if err := s.o.Ownership.AcquireAll(dirs); err != nil {
		return fmt.Errorf("supervisor: %w", err)
	}
	return nil
}

func newInstance(o Options, i int) (*instance, error) {
	name := fmt.Sprintf("rpc-%d", i)
	port := 0
	if o.BasePort > 0 {
		port = o.BasePort + i - 1
	} else {
		var err error
		if port, err = devstack.FreePort(); err != nil {
			return nil, err
		}
	}
	opts := devstack.WalletRPCOptions{
		Name: name, Dir: filepath.Join(o.Dir, name), Port: port,
		Offline: o.DaemonAddress == "", DaemonAddress: o.DaemonAddress, ExtraArgs: o.ExtraArgs,
	}
	if !o.NoLogin {
		opts.Username, opts.Password = "escrow", randomHex(16)
	}
	return &instance{opts: opts, url: fmt.Sprintf("http://127.0.0.1:%d", port)}, nil
}

func (in *instance) start(ctx context.Context) error {
	r, err := devstack.StartWalletRPC(ctx, in.opts)
	if err != nil {
		return err
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
func (s *Supervisor) Instances() []worker.Instance {
	out := make([]worker.Instance, 0, len(s.instances))
	for _, in := range s.instances {
		out = append(out, worker.Instance{Name: in.opts.Name, URL: in.url, WalletDir: in.opts.Dir, Username: in.opts.Username, Password: in.opts.Password})
	}
	return out
}

// Healthy reports whether the named instance's process is up; unknown names are not.
func (s *Supervisor) Healthy(name string) bool {
	in := s.find(name)
	return in != nil && in.healthy.Load()
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
	var rpcs []*devstack.WalletRPC
	for _, in := range s.instances {
		if r := in.cur.Load(); r != nil {
			rpcs = append(rpcs, r)
		}
	}
	_ = devstack.StopWalletRPCs(rpcs)
}

func (s *Supervisor) find(name string) *instance {
	for _, in := range s.instances {
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
