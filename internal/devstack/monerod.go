package devstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/xmr-escrow/xmr-escrow/deploy"
	"github.com/xmr-escrow/xmr-escrow/internal/walletproc"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// Timings for monerod: a fresh regtest daemon answers get_info 2–8 s after start
// when idle; on SIGTERM it flushes its database, which takes a few seconds.
const (
	monerodStartTimeout = 90 * time.Second
	monerodStopGrace    = 30 * time.Second
	monerodPollInterval = 250 * time.Millisecond
	monerodProbeTimeout = 5 * time.Second
	monerodStartTries   = 3
)

// MonerodOptions configures one regtest monerod.
type MonerodOptions struct {
	// Dir is the data dir (created if missing); logs go there too.
	Dir string
	// RPCPort, P2PPort and ZMQPort are bound on 127.0.0.1; 0 picks a free one each.
	RPCPort, P2PPort, ZMQPort int
	// RPCConnections caps monerod's RPC connections, in all and from one private IP;
	// 0 is deploy.MonerodRPCConnections, what the compose file's monerod takes.
	RPCConnections int
	// ExtraArgs are appended to the command line as is (e.g. "--keep-fakechain").
	ExtraArgs []string
}

// Monerod is a running regtest monerod.
type Monerod struct {
	// URL is the RPC base URL, http://127.0.0.1:port (JSON-RPC at URL+"/json_rpc").
	URL string
	// Address is host:port, the form wallet-rpc's --daemon-address takes.
	Address string
	// RPCPort is the RPC port on 127.0.0.1.
	RPCPort int
	// Dir is the data dir.
	Dir string
	// Proc is the monerod process.
	Proc *Process
	// LogPath is monerod's own log file (--log-file).
	LogPath string
}

// StartMonerod runs monerod on a private regtest chain (--regtest --offline
// --fixed-difficulty 1, every port ours and on loopback) and waits, up to 90 s, until
// get_info answers; on failure it kills the process and returns its log tail.
// The chain starts empty: regtest wipes it at start unless ExtraArgs has --keep-fakechain.
func StartMonerod(ctx context.Context, o MonerodOptions) (*Monerod, error) {
	if o.Dir == "" {
		return nil, errors.New("start monerod: MonerodOptions.Dir is required")
	}
	bin, err := MonerodBinary()
	if err != nil {
		return nil, fmt.Errorf("start monerod: %w", err)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("start monerod: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("start monerod: create dir: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, monerodStartTimeout)
	defer cancel()

	autoPorts := o.RPCPort == 0 || o.P2PPort == 0 || o.ZMQPort == 0
	for attempt := 1; ; attempt++ {
		m, err := startMonerodOnce(ctx, bin, dir, o)
		if err == nil {
			return m, nil
		}
		// Only retry a lost race for ports we picked ourselves.
		if !autoPorts || !errors.Is(err, walletproc.ErrPortTaken) || attempt == monerodStartTries || ctx.Err() != nil {
			return nil, err
		}
	}
}

func startMonerodOnce(ctx context.Context, bin, dir string, o MonerodOptions) (*Monerod, error) {
	var ports [3]int
	for i, p := range []int{o.RPCPort, o.P2PPort, o.ZMQPort} {
		var err error
		if ports[i], err = walletproc.PortOrFree(p); err != nil {
			return nil, fmt.Errorf("start monerod: %w", err)
		}
	}
	rpc, p2p, zmq := ports[0], ports[1], ports[2]
	m := &Monerod{
		URL:     "http://127.0.0.1:" + strconv.Itoa(rpc),
		Address: "127.0.0.1:" + strconv.Itoa(rpc),
		RPCPort: rpc,
		Dir:     dir,
		LogPath: filepath.Join(dir, "monerod.log"),
	}
	args := []string{
		"--regtest", "--offline", "--fixed-difficulty", "1",
		"--data-dir", dir,
		"--rpc-bind-ip", "127.0.0.1", "--rpc-bind-port", strconv.Itoa(rpc),
		"--p2p-bind-ip", "127.0.0.1", "--p2p-bind-port", strconv.Itoa(p2p),
		"--zmq-rpc-bind-ip", "127.0.0.1", "--zmq-rpc-bind-port", strconv.Itoa(zmq),
		"--non-interactive", "--no-igd",
		"--log-file", m.LogPath,
		// Plain HTTP: autodetect would make monerod generate a TLS certificate at start
		// (CPU-seconds) and wallet-rpc probe TLS first on every connection.
		"--rpc-ssl", "disabled",
		// Wallets on loopback make RPC errors on purpose in tests; a ban would cut
		// every later test call off.
		"--disable-rpc-ban",
		"--check-updates", "disabled",
		"--disable-dns-checkpoints",
	}
	conns := o.RPCConnections
	if conns == 0 {
		conns = deploy.MonerodRPCConnections
	}
	args = append(args, deploy.MonerodConnectionArgs(conns)...)
	args = append(args, o.ExtraArgs...)

	consolePath := filepath.Join(dir, "monerod.out")
	proc, err := walletproc.StartProcessIn(ctx, "monerod", bin, args, consolePath, dir)
	if err != nil {
		return nil, fmt.Errorf("start monerod: %w", err)
	}
	m.Proc = proc
	if err := m.waitReady(ctx); err != nil {
		_ = m.Proc.Kill()
		return nil, walletproc.MoneroStartError("start monerod on "+m.URL, m.Proc, m.LogPath, err)
	}
	return m, nil
}

// waitReady polls get_info until it answers or ctx ends.
func (m *Monerod) waitReady(ctx context.Context) error {
	d := walletrpc.NewDaemon(walletrpc.Config{URL: m.URL, Timeout: monerodProbeTimeout})
	var lastErr error
	for {
		select {
		case <-m.Proc.Done():
			return fmt.Errorf("monerod exited during startup: %v", m.Proc.ExitErr())
		default:
		}
		if _, lastErr = d.GetInfo(ctx); lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last check: %v)", ctx.Err(), lastErr)
		case <-m.Proc.Done():
		case <-time.After(monerodPollInterval):
		}
	}
}

// RPC returns a client for this daemon's JSON-RPC.
func (m *Monerod) RPC() *walletrpc.Daemon {
	return walletrpc.NewDaemon(walletrpc.Config{URL: m.URL})
}

// Stop shuts monerod down gracefully (SIGTERM lets it close its database); after 30 s
// it is killed and an error says so. It is idempotent.
func (m *Monerod) Stop() error {
	if err := m.Proc.Stop(monerodStopGrace); err != nil {
		return fmt.Errorf("stop monerod: %w", err)
	}
	return nil
}
