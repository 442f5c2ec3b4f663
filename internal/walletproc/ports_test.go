package walletproc

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests assert what the allocator guarantees: no port twice in a
// process, no port held by two live allocators (in one process or in
// several), ports outside the kernel's ephemeral range, and bound or locked
// ports skipped. They do not assert that a port is still bindable some time
// after FreePort returned it: a process that is not ours may bind it in
// between, and asserting that is what made the old test flaky under
// `go test ./...`.

// lockedElsewhere reports whether an open file description other than f's
// holds the lock on port in f's file. Opening and closing f leaves the
// allocators' locks alone: they are owned by their own descriptions.
func lockedElsewhere(t *testing.T, f *os.File, port int) bool {
	t.Helper()
	lk := portLock(port, syscall.F_WRLCK)
	require.NoError(t, syscall.FcntlFlock(f.Fd(), fOFDGetlk, lk))
	return lk.Type != syscall.F_UNLCK
}

func openLockFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// testPool is a set of ports taken once per process from FreePort, for the
// test allocators to hand out. They are this process's for its lifetime, so
// the test allocators' probes cannot disturb a port that another process (or
// test) is about to bind, and taking them once keeps -count=N from using up
// the band.
var testPool struct {
	once  sync.Once
	ports []int
	err   error
}

// testBand returns ports [from, to) of testPool. Tests running in parallel
// use disjoint ranges: one test's listener must not make another's port
// unbindable.
func testBand(t *testing.T, from, to int) []int {
	t.Helper()
	testPool.once.Do(func() {
		testPool.ports = make([]int, 235)
		for i := range testPool.ports {
			if testPool.ports[i], testPool.err = FreePort(); testPool.err != nil {
				return
			}
		}
		slices.Sort(testPool.ports)
	})
	require.NoError(t, testPool.err)
	return slices.Clone(testPool.ports[from:to])
}

func getPorts(t *testing.T, get func() (int, error), n int) []int {
	t.Helper()
	ports := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p, err := get()
			assert.NoError(t, err)
			ports[i] = p
		})
	}
	wg.Wait()
	return ports
}

func requireDistinct(t *testing.T, ports []int) {
	t.Helper()
	seen := map[int]bool{}
	for _, p := range ports {
		require.NotZero(t, p)
		require.False(t, seen[p], "port %d handed out twice", p)
		seen[p] = true
	}
}

func TestFreePortNeverRepeats(t *testing.T) {
	t.Parallel()
	ports := getPorts(t, FreePort, 32)
	requireDistinct(t, ports)

	lo, hi := ephemeralRange()
	require.NotNil(t, defaultPorts.lock, "lock file %s could not be opened", portLockPath())
	other := openLockFile(t, portLockPath())
	for _, p := range ports {
		assert.True(t, p >= portBandLow && p < portBandHigh, "port %d outside the band", p)
		assert.False(t, p >= lo && p <= hi, "port %d in the ephemeral range %d-%d", p, lo, hi)
		assert.True(t, lockedElsewhere(t, other, p), "port %d not locked", p)
	}
}

func TestPortAllocatorsNeverShare(t *testing.T) {
	t.Parallel()
	band := testBand(t, 35, 175)
	path := filepath.Join(t.TempDir(), "ports.lock")
	// The same seed: both start at the same port, so without the locks they
	// would hand out the very same ports.
	a := newPortAllocator(band, 42, path)
	b := newPortAllocator(band, 42, path)
	require.NotNil(t, a.lock)
	require.NotNil(t, b.lock)
	var pa, pb []int
	var wg sync.WaitGroup
	wg.Go(func() { pa = getPorts(t, a.get, 50) })
	wg.Go(func() { pb = getPorts(t, b.get, 50) })
	wg.Wait()
	requireDistinct(t, append(pa, pb...))
}

func TestPortAllocatorSkipsTakenPorts(t *testing.T) {
	t.Parallel()
	band := testBand(t, 0, 10)
	path := filepath.Join(t.TempDir(), "ports.lock")
	other := openLockFile(t, path)

	// Listen on one of them, as a process that is not ours might.
	i, l := -1, net.Listener(nil)
	for j, p := range band[:len(band)-1] {
		if ll, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
			i, l = j, ll
			break
		}
	}
	require.GreaterOrEqual(t, i, 0, "none of %v can be bound", band)
	defer l.Close()
	bound, locked := band[i], band[i+1]
	// Another allocator holds the next one.
	require.NoError(t, syscall.FcntlFlock(other.Fd(), fOFDSetlk, portLock(locked, syscall.F_WRLCK)))

	a := newPortAllocator(band, 0, path)
	a.next = i
	got, err := a.get()
	require.NoError(t, err)
	assert.NotEqual(t, bound, got, "bound port handed out")
	assert.NotEqual(t, locked, got, "port locked elsewhere handed out")
	assert.False(t, lockedElsewhere(t, other, bound), "lock on the unusable port %d kept", bound)
	assert.True(t, lockedElsewhere(t, other, got), "port %d not locked", got)
}

func TestPortAllocatorKernelFallback(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ports.lock")
	a := newPortAllocator(nil, 0, path)
	ports := getPorts(t, a.get, 50)
	requireDistinct(t, ports)
	other := openLockFile(t, path)
	for _, p := range ports {
		assert.True(t, lockedElsewhere(t, other, p), "port %d not locked", p)
	}
}

func TestPortAllocatorWithoutLockFile(t *testing.T) {
	t.Parallel()
	a := newPortAllocator(testBand(t, 15, 35), 7, filepath.Join(t.TempDir(), "missing", "ports.lock"))
	assert.Nil(t, a.lock)
	requireDistinct(t, getPorts(t, a.get, 20))
}

func TestPortAllocatorNeverRepeatsAfterWrapping(t *testing.T) {
	t.Parallel()
	band := testBand(t, 10, 15)
	a := newPortAllocator(band, 3, filepath.Join(t.TempDir(), "ports.lock"))
	ports := getPorts(t, a.get, len(band))
	requireDistinct(t, ports)
	assert.ElementsMatch(t, band, ports)
	// It holds every lock itself, so only its record stops a second round.
	p, err := a.get()
	assert.Error(t, err, "got port %d again", p)
}

func TestPortBand(t *testing.T) {
	assert.Len(t, portBand(20000, 28000, 32768, 60999), 8000)
	b := portBand(20000, 28000, 25000, 60999)
	assert.Equal(t, []int{20000, 24999}, []int{b[0], b[len(b)-1]})
	assert.Len(t, b, 5000)
	b = portBand(20000, 28000, 1024, 21999)
	assert.Equal(t, []int{22000, 27999}, []int{b[0], b[len(b)-1]})
	assert.Empty(t, portBand(20000, 28000, 1024, 65535))
}

// portHelperEnv and portHelperBandEnv give TestPortLockHelper its lock file
// and its band.
const (
	portHelperEnv     = "DEVSTACK_PORT_HELPER_LOCK"
	portHelperBandEnv = "DEVSTACK_PORT_HELPER_BAND"
)

func joinInts(ns []int, sep string) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, sep)
}

func splitInts(t *testing.T, s, sep string) []int {
	t.Helper()
	var ns []int
	for _, f := range strings.Split(s, sep) {
		n, err := strconv.Atoi(f)
		require.NoError(t, err)
		ns = append(ns, n)
	}
	return ns
}

// TestPortLocksLastUntilExit checks the promise across processes: ports
// another process was given stay locked while it lives and are free once it
// has exited.
func TestPortLocksLastUntilExit(t *testing.T) {
	t.Parallel()
	band := testBand(t, 175, 235)
	path := filepath.Join(t.TempDir(), "ports.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestPortLockHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), portHelperEnv+"="+path, portHelperBandEnv+"="+joinInts(band, ","))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	waited := false
	defer func() {
		if !waited {
			_ = stdin.Close()
			_ = cmd.Wait()
		}
	}()

	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "ports "), "helper said %q", line)
	theirs := splitInts(t, strings.TrimSpace(strings.TrimPrefix(line, "ports ")), " ")
	require.Len(t, theirs, 20)

	other := openLockFile(t, path)
	for _, p := range theirs {
		assert.True(t, lockedElsewhere(t, other, p), "port %d not locked while its process lives", p)
	}
	// Our own allocator, starting where the helper's did, steers clear.
	mine := newPortAllocator(band, 42, path)
	requireDistinct(t, append(getPorts(t, mine.get, 20), theirs...))

	require.NoError(t, stdin.Close())
	waited = true
	require.NoError(t, cmd.Wait())
	for _, p := range theirs {
		assert.False(t, lockedElsewhere(t, other, p), "port %d still locked after its process exited", p)
	}
}

// TestPortLockHelper is the other process of TestPortLocksLastUntilExit: it
// takes 20 ports, prints them and holds them until its stdin closes.
func TestPortLockHelper(t *testing.T) {
	path := os.Getenv(portHelperEnv)
	if path == "" {
		t.Skip("only run by TestPortLocksLastUntilExit")
	}
	a := newPortAllocator(splitInts(t, os.Getenv(portHelperBandEnv), ","), 42, path)
	require.NotNil(t, a.lock)
	ports := make([]int, 20)
	for i := range ports {
		p, err := a.get()
		require.NoError(t, err)
		ports[i] = p
	}
	fmt.Println("ports " + joinInts(ports, " "))
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // returns at EOF
}
