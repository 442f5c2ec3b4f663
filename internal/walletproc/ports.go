package walletproc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// FreePort's caller hands the port to a child process (temporal, monerod,
// monero-wallet-rpc) that binds it some time later, so the port must not be
// taken by anyone else in between. Asking the kernel for a free port with
// listen(":0") and closing it cannot promise that once several processes do
// it at once, as the test binaries of `go test ./...` do: each process only
// knows what it handed out itself, and the kernel may offer the same port to
// another process (or to a dev server choosing its internal ports, or to
// the source port of an outgoing connection) before our child binds it.
//
// So FreePort
//   - hands out ports from a fixed band, portBandLow to portBandHigh, with
//     any part of it inside the kernel's ephemeral range
//     (/proc/sys/net/ipv4/ip_local_port_range) left out. The kernel picks
//     ports for listen(":0") and connect() only from the ephemeral range, so
//     no process that lets the kernel choose can take one of ours;
//   - agrees with every other process using FreePort through a lock on byte
//     <port> of one lock file per user in os.TempDir(). The lock is an
//     open-file-description lock (F_OFD_SETLK): taken before the port is
//     probed and held until this process exits, when the kernel drops it,
//     after a crash too. No two live processes are given the same port;
//   - checks that 127.0.0.1:<port> can be bound right now, and skips the
//     port otherwise (a process that is not ours may be listening on it); and
//   - never returns a port twice in one process (Temporal.Restart reuses its
//     ports, so they stay ours for the life of the process).
//
// Each process starts its walk through the band at an offset derived from
// its pid, so concurrent processes seldom even try the same ports. The band
// (8000 ports with Linux's default ephemeral range) is shared by all live
// processes using FreePort, and one process can be given each port once:
// plenty for the few ports a server or a test binary needs (the devstack
// tests take a few hundred per run).
//
// What FreePort cannot promise is that a process choosing fixed ports of its
// own in the band (none in this repository does) keeps off a port between
// FreePort returning it and our child binding it. If the lock file cannot be
// opened, FreePort still works but without the agreement between processes.
// If the whole band lies in the ephemeral range, ports come from
// listen(":0") instead, still locked, recorded and probed.
const (
	portBandLow  = 20000 // above monero's mainnet defaults 18080-18089
	portBandHigh = 28000 // below its testnet defaults 28080-28089; exclusive
)

// maxFreePortAttempts bounds the retries when the kernel keeps offering ports
// we cannot use (it will not in practice; this avoids a livelock).
const maxFreePortAttempts = 100

// F_OFD_GETLK and F_OFD_SETLK from <fcntl.h> (the same on every Linux
// architecture); the syscall package names them only for a few. Classic
// F_SETLK locks would not do: they belong to the process, so two allocators
// in one process (as in the tests) would not exclude each other, and closing
// any descriptor of the lock file would drop all of the process's locks.
const (
	fOFDGetlk = 36
	fOFDSetlk = 37
)

var (
	defaultPortsOnce sync.Once
	defaultPorts     *portAllocator
)

// FreePort returns a loopback TCP port that is free now, that this process
// has never returned before, and that no other live process using FreePort
// has been given; see the comment above portBandLow for how.
func FreePort() (int, error) {
	defaultPortsOnce.Do(func() {
		lo, hi := ephemeralRange()
		defaultPorts = newPortAllocator(portBand(portBandLow, portBandHigh, lo, hi), os.Getpid(), portLockPath())
	})
	return defaultPorts.get()
}

// PortOrFree returns p, or a fresh FreePort when p is 0.
func PortOrFree(p int) (int, error) {
	if p != 0 {
		return p, nil
	}
	return FreePort()
}

// portAllocator is FreePort's state; tests make their own.
type portAllocator struct {
	mu        sync.Mutex
	band      []int // ports to hand out, in order; empty: let the kernel pick
	next      int   // index in band where the next search starts
	lock      *os.File
	handedOut map[int]struct{}
}

// newPortAllocator starts the walk through band at an offset derived from
// seed and locks ports in the file at lockPath (none if it cannot be opened).
func newPortAllocator(band []int, seed int, lockPath string) *portAllocator {
	a := &portAllocator{band: band, handedOut: map[int]struct{}{}}
	if len(band) > 0 {
		// Knuth's multiplicative hash spreads consecutive pids over the band.
		a.next = int(uint64(uint32(seed)) * 2654435761 % uint64(len(band)))
	}
	if f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600); err == nil {
		a.lock = f
	}
	return a
}

func (a *portAllocator) get() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.band) == 0 {
		return a.fromKernel()
	}
	for range len(a.band) {
		port := a.band[a.next]
		a.next = (a.next + 1) % len(a.band)
		if _, dup := a.handedOut[port]; dup {
			continue
		}
		ok, err := a.claim(port)
		if err != nil {
			return 0, err
		}
		if !ok {
			continue // another process has it
		}
		if !canBind(port) {
			a.release(port)
			continue
		}
		a.handedOut[port] = struct{}{}
		return port, nil
	}
	return 0, fmt.Errorf("free port: every port of %d-%d outside the ephemeral range is taken or already handed out", portBandLow, portBandHigh-1)
}

// fromKernel is get for an empty band.
func (a *portAllocator) fromKernel() (int, error) {
	for range maxFreePortAttempts {
		port, err := probePort()
		if err != nil {
			return 0, err
		}
		if _, dup := a.handedOut[port]; dup {
			continue
		}
		ok, err := a.claim(port)
		if err != nil {
			return 0, err
		}
		if !ok {
			continue
		}
		a.handedOut[port] = struct{}{}
		return port, nil
	}
	return 0, fmt.Errorf("free port: kernel offered only ports already handed out after %d tries", maxFreePortAttempts)
}

// claim takes the lock on port, reporting false if another process (or
// another portAllocator) holds it.
func (a *portAllocator) claim(port int) (bool, error) {
	if a.lock == nil {
		return true, nil
	}
	for {
		err := syscall.FcntlFlock(a.lock.Fd(), fOFDSetlk, portLock(port, syscall.F_WRLCK))
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EACCES):
			return false, nil
		default:
			return false, fmt.Errorf("free port: lock port %d in %s: %w", port, a.lock.Name(), err)
		}
	}
}

// release drops the lock on a port that turned out to be unusable.
func (a *portAllocator) release(port int) {
	if a.lock != nil {
		_ = syscall.FcntlFlock(a.lock.Fd(), fOFDSetlk, portLock(port, syscall.F_UNLCK))
	}
}

// portLock describes the one-byte lock at offset port.
func portLock(port int, typ int16) *syscall.Flock_t {
	return &syscall.Flock_t{Type: typ, Whence: io.SeekStart, Start: int64(port), Len: 1}
}

// portLockPath is the lock file shared by this user's processes.
func portLockPath() string {
	return filepath.Join(os.TempDir(), "xmr-escrow-devstack-ports-"+strconv.Itoa(os.Getuid())+".lock")
}

// portBand lists the ports of [low, high) outside the ephemeral range
// [ephLow, ephHigh].
func portBand(low, high, ephLow, ephHigh int) []int {
	var band []int
	for p := low; p < high; p++ {
		if p < ephLow || p > ephHigh {
			band = append(band, p)
		}
	}
	return band
}

// ephemeralRange is the kernel's range for ports it picks itself, or Linux's
// default when it cannot be read.
func ephemeralRange() (low, high int) {
	low, high = 32768, 60999
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return low, high
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return low, high
	}
	l, err1 := strconv.Atoi(f[0])
	h, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || l > h {
		return low, high
	}
	return l, h
}

// canBind reports whether 127.0.0.1:port can be listened on now. Like our
// children (Go, the Temporal server and monero's epee all set SO_REUSEADDR)
// it succeeds over connections in TIME_WAIT.
func canBind(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// probePort asks the kernel for a free 127.0.0.1 port and leaves it in
// TIME_WAIT: while that lasts (60 s on Linux) the kernel does not pick it
// again for other listen(":0") callers — such as the internal service ports
// another dev server chooses for itself — yet our child can still bind it,
// because Go, the Temporal server and monero's epee all set SO_REUSEADDR.
func probePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: listen on 127.0.0.1:0: %w", err)
	}
	defer func() { _ = l.Close() }()
	port := l.Addr().(*net.TCPAddr).Port

	// The server side must close first for the TIME_WAIT to sit on our port.
	// If any step fails the port is still free, just not shielded, so the
	// errors are ignored on purpose.
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		return port, nil
	}
	defer func() { _ = c.Close() }()
	if s, err := l.Accept(); err == nil {
		_ = s.Close()
	}
	return port, nil
}
