package rpcinstance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// LockFileName is the file a worker locks in each wallet dir it serves. Wallet files are
// "escrow-<id>-<role>" and ".keys", snapshots live under ".snapshots/", restore leftovers
// are "<wallet>.restore-*": a dot file with another stem never matches any of them.
const LockFileName = ".xmr-escrow.lock"

// OwnerRule ends every refusal, so an operator knows it is deliberate and where to read why.
const OwnerRule = "one wallet-rpc has exactly one owner (docs/design.md)"

// Holder is who holds a wallet dir, as written in its lock file.
type Holder struct {
	PID   int
	Host  string
	Since time.Time
}

// OwnedError says a wallet dir is already served by another worker (or named twice).
type OwnedError struct {
	Dir    string
	Holder Holder
}

// Error names the holder so the operator can find and stop it.
func (e *OwnedError) Error() string {
	if e.Holder.PID == 0 {
		// The holder locked but has not written its name yet, or crashed in between.
		return fmt.Sprintf("wallet dir %s is served by another process (its lock file %s names no holder yet); %s", e.Dir, LockFileName, OwnerRule)
	}
	return fmt.Sprintf("wallet dir %s is served by pid %d on host %s since %s; %s",
		e.Dir, e.Holder.PID, e.Holder.Host, e.Holder.Since.UTC().Format(time.RFC3339), OwnerRule)
}

// Ownership is the set of wallet dirs this process serves, each held by an exclusive flock
// on its lock file. The kernel drops a flock when its holder dies, even by SIGKILL, so a
// restarted worker takes over without clean-up; Temporal alone cannot stop two processes
// polling one instance's queue (docs/design.md, "One owner per wallet-rpc").
type Ownership struct {
	log  *zap.Logger
	mu   sync.Mutex
	held map[string]*os.File // by canonical dir
	ids  map[string]Identity // by canonical dir, while held (identity.go)
}

// NewOwnership returns an empty set; log may be nil.
func NewOwnership(log *zap.Logger) *Ownership {
	if log == nil {
		log = zap.NewNop()
	}
	return &Ownership{log: log, held: map[string]*os.File{}, ids: map[string]Identity{}}
}

// Acquire locks dir's lock file without waiting, and records this process in it. A dir
// this Ownership already holds is not locked twice (the supervisor takes its dirs before
// their wallet-rpcs start, and the worker then serves them). The dir must exist: it is the
// wallet-rpc's --wallet-dir, on this host.
func (o *Ownership) Acquire(dir string) error {
	key := CanonicalDir(dir)
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.held[key]; ok {
		return nil
	}
	path := filepath.Join(key, LockFileName)
	// os.OpenFile sets O_CLOEXEC, so wallet-rpc children never inherit (and keep) the lock.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("lock wallet dir %s (it must exist: the wallet-rpc's --wallet-dir, on this host): %w", dir, err)
	}
	if err := flock(f); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return &OwnedError{Dir: key, Holder: readHolder(path)}
		}
		return fmt.Errorf("lock wallet dir %s: %w", dir, err)
	}
	host, _ := os.Hostname()
	me := Holder{PID: os.Getpid(), Host: host, Since: time.Now()}
	if err := writeHolder(f, me); err != nil {
		_ = f.Close()
		return fmt.Errorf("lock wallet dir %s: record owner: %w", dir, err)
	}
	o.held[key] = f
	o.log.Info("took ownership of wallet dir", zap.String("wallet_dir", key), zap.Int("pid", me.PID), zap.String("host", host))
	return nil
}

// AcquireAll locks every dir or none: on a failure it releases the dirs this call took,
// so a refused worker leaves no lock behind.
func (o *Ownership) AcquireAll(dirs []string) error {
	var taken []string
	for _, d := range dirs {
		had := o.Holds(d)
		if err := o.Acquire(d); err != nil {
			for _, t := range taken {
				o.release(t)
			}
			return err
		}
		if !had {
			taken = append(taken, d)
		}
	}
	return nil
}

// Bind locks every instance's wallet dir and checks its configured name against the dir's
// ID file (recording it on first use), all or nothing: a refused worker keeps no lock and
// records no name.
func (o *Ownership) Bind(instances []Instance) error {
	dirs := make([]string, 0, len(instances))
	var taken []string
	for _, in := range instances {
		dirs = append(dirs, in.WalletDir)
		if !o.Holds(in.WalletDir) {
			taken = append(taken, in.WalletDir)
		}
	}
	if err := o.AcquireAll(dirs); err != nil {
		return err
	}
	// Check every recorded name before writing any, so a refused start records nothing.
	for _, pass := range []func(dir, name string) error{o.check, o.claim} {
		for _, in := range instances {
			if err := pass(in.WalletDir, in.Name); err != nil {
				for _, t := range taken {
					o.release(t)
				}
				return err
			}
		}
	}
	return nil
}

// Holds reports whether this Ownership holds dir.
func (o *Ownership) Holds(dir string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.held[CanonicalDir(dir)]
	return ok
}

// Release gives up every dir; it is safe to call more than once.
func (o *Ownership) Release() {
	o.mu.Lock()
	keys := make([]string, 0, len(o.held))
	for k := range o.held {
		keys = append(keys, k)
	}
	o.mu.Unlock()
	for _, k := range keys {
		o.release(k)
	}
}

// release clears the holder record before unlocking, so the file never names a process
// that no longer serves the dir. The file stays: unlinking a locked path would let a
// newcomer lock a fresh inode while a late opener locks the old one, and both would own it.
func (o *Ownership) release(dir string) {
	key := CanonicalDir(dir)
	o.mu.Lock()
	f, ok := o.held[key]
	delete(o.held, key)
	delete(o.ids, key) // the next holder reads the file again
	o.mu.Unlock()
	if !ok {
		return
	}
	if err := f.Truncate(0); err != nil {
		o.log.Warn("clear wallet dir lock file", zap.String("wallet_dir", key), zap.Error(err))
	}
	if err := f.Close(); err != nil { // closing the last descriptor drops the flock
		o.log.Warn("release wallet dir lock", zap.String("wallet_dir", key), zap.Error(err))
	}
	o.log.Info("released wallet dir", zap.String("wallet_dir", key))
}

// flock takes an exclusive lock on f's open file description without waiting. A second
// open of the same file, even in this process, is a different description and conflicts.
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func writeHolder(f *os.File, h Holder) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	rec := fmt.Sprintf("pid=%d\nhost=%s\nsince=%s\n", h.PID, h.Host, h.Since.UTC().Format(time.RFC3339Nano))
	if _, err := f.WriteAt([]byte(rec), 0); err != nil {
		return err
	}
	return f.Sync()
}

// readHolder reads the lock file of a dir someone else holds. The holder writes its name
// just after locking, so an empty file is read again for a moment before giving up.
func readHolder(path string) Holder {
	var h Holder
	for range 20 {
		if b, err := os.ReadFile(path); err == nil {
			if h = parseHolder(string(b)); h.PID != 0 {
				return h
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return h
}

func parseHolder(s string) Holder {
	var h Holder
	for _, line := range strings.Split(s, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "pid":
			h.PID, _ = strconv.Atoi(v)
		case "host":
			h.Host = v
		case "since":
			h.Since, _ = time.Parse(time.RFC3339Nano, v)
		}
	}
	return h
}

// CanonicalDir names a dir the same way however it was spelled: absolute, cleaned, and with
// symlinks resolved when it exists.
func CanonicalDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = filepath.Clean(dir)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}
