package devstack

import (
	"fmt"
	"net"
	"sync"
)

// handedOut remembers every port FreePort has returned in this process. The
// kernel may hand the same ephemeral port to two listen(":0") calls made
// seconds apart, and a port we returned is not bound until the child process
// starts, so without this two parallel tests could be given the same port.
var (
	handedOutMu sync.Mutex
	handedOut   = map[int]struct{}{}
)

// maxFreePortAttempts bounds the retries when the kernel keeps offering ports
// we already handed out (it will not in practice; this avoids a livelock).
const maxFreePortAttempts = 100

// FreePort returns a loopback TCP port that is free now and that this process
// has never returned before.
func FreePort() (int, error) {
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	for range maxFreePortAttempts {
		port, err := probePort()
		if err != nil {
			return 0, err
		}
		if _, dup := handedOut[port]; dup {
			continue
		}
		handedOut[port] = struct{}{}
		return port, nil
	}
	return 0, fmt.Errorf("free port: kernel offered only ports already handed out after %d tries", maxFreePortAttempts)
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
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	// The server side must close first for the TIME_WAIT to sit on our port.
	// If any step fails the port is still free, just not shielded, so the
	// errors are ignored on purpose.
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		return port, nil
	}
	defer c.Close()
	if s, err := l.Accept(); err == nil {
		_ = s.Close()
	}
	return port, nil
}
