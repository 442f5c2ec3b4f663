package walletproc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Timings for monero-wallet-rpc: ready 2–7 s after start when idle, much
// later on a loaded 2-core machine; on SIGTERM it stores the open wallet,
// which can take seconds.
const (
	startTimeout = 90 * time.Second
	stopGrace    = 20 * time.Second
	pollInterval = 200 * time.Millisecond
	probeTimeout = 3 * time.Second
	startTries   = 3
)

// Options configures one monero-wallet-rpc instance.
type Options struct {
	// Name is the instance name, e.g. "rpc-1"; it names the log files.
	Name string
	// Dir is the wallet dir (created if missing).
	Dir string
	// Port is the RPC port; 0 picks a free one.
	Port int
	// Offline passes --offline: no daemon, no DNS (enough for multisig setup).
	Offline bool
	// DaemonAddress is an optional monerod host:port, trusted (--trusted-daemon).
	DaemonAddress string
	// RegtestDaemon passes --allow-mismatched-daemon-version, for a daemon on a private
	// regtest chain only: since 0.18.2.0 wallet-rpc checks each block's hard-fork version
	// against mainnet's schedule and refuses to refresh from a regtest chain ("Unexpected
	// hard fork version v16 at height 1"). Never for a real network: there the check is
	// what tells an outdated daemon or wallet.
	RegtestDaemon bool
	// Username and Password enable wallet-rpc's rpc-login (HTTP digest auth); empty means
	// --disable-rpc-login. They never go on the command line, which any local user reads in
	// /proc/PID/cmdline: wallet-rpc reads them from a private in-memory file (secrets.go).
	Username, Password string
	// LogDir is where NAME.log (monero's log) and NAME.out (console) go; default Dir.
	LogDir string
	// ExtraArgs are appended to the command line as is (e.g. "--log-level", "2"), except
	// options that carry a secret (--daemon-login, --password, --rpc-client-secret-key), which
	// go to the private file with the login instead (secrets.go).
	ExtraArgs []string
	// NoKeyCache runs wallet-rpc without the key cache (keycache.go): every create_wallet
	// and open_wallet then pays for an RSA-4096 key of its own, as stock wallet-rpc does.
	NoKeyCache bool
}

// WalletRPC is a running monero-wallet-rpc.
type WalletRPC struct {
	// Name is the instance name.
	Name string
	// URL is the base URL; JSON-RPC is at URL+"/json_rpc".
	URL string
	// Dir is the wallet dir.
	Dir string
	// Port is the RPC port on 127.0.0.1.
	Port int
	// Username and Password are the digest-auth credentials ("" when login is disabled).
	Username, Password string
	// Proc is the wallet-rpc process.
	Proc *Process
	// LogPath is monero's own log file (--log-file).
	LogPath string
	// KeyCache is whether the key cache (keycache.go) is preloaded into the process.
	KeyCache bool
	// KeyCacheOff says why the key cache was wanted but is not preloaded: no safe place for
	// its library, or a library that fails its check (ErrKeyCacheUnsafe). "" otherwise. The
	// supervisor logs it as a warning.
	KeyCacheOff string
}

// Start runs monero-wallet-rpc on 127.0.0.1 and waits, up to 90 s,
// until get_version answers; on failure it kills the process and returns its log tail.
func Start(ctx context.Context, opts Options) (*WalletRPC, error) {
	if opts.Name == "" {
		return nil, errors.New("start wallet-rpc: Options.Name is required")
	}
	if opts.Dir == "" {
		return nil, fmt.Errorf("start wallet-rpc %s: Options.Dir is required", opts.Name)
	}
	bin, err := Binary()
	if err != nil {
		return nil, fmt.Errorf("start wallet-rpc %s: %w", opts.Name, err)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start wallet-rpc %s: %w", opts.Name, err)
	}
	logDir := dir
	if opts.LogDir != "" {
		if logDir, err = filepath.Abs(opts.LogDir); err != nil {
			return nil, fmt.Errorf("start wallet-rpc %s: %w", opts.Name, err)
		}
	}
	for _, d := range []string{dir, logDir} {
		if err := privateDir(d); err != nil {
			return nil, fmt.Errorf("start wallet-rpc %s: %w", opts.Name, err)
		}
	}
	if _, err := walletRPCConfig(opts); err != nil {
		return nil, fmt.Errorf("start wallet-rpc %s: %w", opts.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()

	for attempt := 1; ; attempt++ {
		w, err := startOnce(ctx, bin, dir, logDir, opts)
		if err == nil {
			return w, nil
		}
		// Only retry a lost race for a port we picked ourselves.
		if opts.Port != 0 || !errors.Is(err, ErrPortTaken) || attempt == startTries || ctx.Err() != nil {
			return nil, err
		}
	}
}

func startOnce(ctx context.Context, bin, dir, logDir string, opts Options) (*WalletRPC, error) {
	port, err := PortOrFree(opts.Port)
	if err != nil {
		return nil, fmt.Errorf("start wallet-rpc %s: %w", opts.Name, err)
	}
	w := &WalletRPC{
		Name:     opts.Name,
		URL:      "http://127.0.0.1:" + strconv.Itoa(port),
		Dir:      dir,
		Port:     port,
		Username: opts.Username,
		Password: opts.Password,
		LogPath:  filepath.Join(logDir, opts.Name+".log"),
	}
	args := walletRPCArgs(port, dir, w.LogPath, opts)

	env, key, off, err := keyCacheEnv(bin, opts)
	if err != nil {
		return nil, fmt.Errorf("start wallet-rpc %s: %w", opts.Name, err)
	}
	w.KeyCache, w.KeyCacheOff = env != nil, off
	var files []*os.File
	if key != nil {
		files = append(files, key) // descriptor 3, as keyCacheEnv's variable says
	}
	lines, err := walletRPCConfig(opts)
	if err != nil {
		return nil, fmt.Errorf("start wallet-rpc %s: %w", opts.Name, err)
	}
	var cfg *os.File
	if lines != nil {
		if cfg, err = privateConfig(lines); err != nil {
			return nil, fmt.Errorf("start wallet-rpc %s: %w", opts.Name, err)
		}
		files = append(files, cfg)
		// The child's descriptor 3+i is files[i]; wallet-rpc opens it by name, once, while it
		// parses its options (wallet_args.cpp), before it serves anything.
		args = append(args, "--config-file", "/proc/self/fd/"+strconv.Itoa(2+len(files)))
	}
	// cwd = wallet dir, so anything wallet-rpc writes relative to cwd stays there.
	consolePath := filepath.Join(logDir, opts.Name+".out")
	w.Proc, err = startProcess(ctx, opts.Name, bin, args, consolePath, dir, env, files...)
	if cfg != nil {
		_ = cfg.Close() // the child has its own descriptor now, or none
	}
	if err != nil {
		return nil, fmt.Errorf("start wallet-rpc %s: %w", opts.Name, err)
	}
	if err := w.waitReady(ctx); err != nil {
		_ = w.Proc.Kill()
		return nil, MoneroStartError(fmt.Sprintf("start wallet-rpc %s on %s", opts.Name, w.URL), w.Proc, w.LogPath, err)
	}
	return w, nil
}

// walletRPCArgs is wallet-rpc's command line for an instance on port with wallet dir dir: no
// secret, which walletRPCConfig's lines carry instead (and Start adds --config-file).
func walletRPCArgs(port int, dir, logPath string, opts Options) []string {
	args := []string{
		"--rpc-bind-ip", "127.0.0.1",
		"--rpc-bind-port", strconv.Itoa(port),
		"--wallet-dir", dir,
		"--rpc-ssl", "disabled",
		"--log-file", logPath,
		"--non-interactive",
		// The default ~/.shared-ringdb would be shared by every test instance
		// and outlive them; keep it with the wallets.
		"--shared-ringdb-dir", filepath.Join(dir, ".shared-ringdb"),
	}
	if opts.Offline {
		args = append(args, "--offline")
	}
	if opts.DaemonAddress != "" {
		args = append(args, "--daemon-address", opts.DaemonAddress, "--trusted-daemon")
	}
	if opts.RegtestDaemon {
		args = append(args, "--allow-mismatched-daemon-version")
	}
	args = append(args, daemonSSLArgs(opts)...)
	if !opts.login() {
		args = append(args, "--disable-rpc-login")
	}
	public, _ := splitSecretArgs(opts.ExtraArgs)
	args = append(args, public...)
	return args
}

// login reports whether the instance takes an rpc-login.
func (o Options) login() bool { return o.Username != "" || o.Password != "" }

// waitReady polls get_version until it answers or ctx ends.
func (w *WalletRPC) waitReady(ctx context.Context) error {
	var lastErr error
	for {
		select {
		case <-w.Proc.Done():
			return fmt.Errorf("wallet-rpc exited during startup: %v", w.Proc.ExitErr())
		default:
		}
		if lastErr = w.probe(ctx); lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last check: %v)", ctx.Err(), lastErr)
		case <-w.Proc.Done():
		case <-time.After(pollInterval):
		}
	}
}

// probe sends one get_version. With --rpc-login a 401 digest challenge proves
// the server is up, so it counts as ready: auth is the walletrpc client's job.
func (w *WalletRPC) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	body := []byte(`{"jsonrpc":"2.0","id":"0","method":"get_version"}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL+"/json_rpc", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("get_version request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("get_version: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode == http.StatusUnauthorized && w.Username+w.Password != "" {
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get_version: HTTP %s", resp.Status)
	}
	var out struct {
		Result *struct {
			Version uint32 `json:"version"`
		} `json:"result"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return fmt.Errorf("get_version: decode %q: %w", data, err)
	}
	if out.Error != nil {
		return fmt.Errorf("get_version: rpc error %d: %s", out.Error.Code, out.Error.Message)
	}
	if out.Result == nil {
		return fmt.Errorf("get_version: no result in %q", data)
	}
	return nil
}

// Stop shuts wallet-rpc down gracefully: SIGTERM makes it store the open
// wallet before exiting; after 20 s it is killed and an error says so.
func (w *WalletRPC) Stop() error {
	if err := w.Proc.Stop(stopGrace); err != nil {
		return fmt.Errorf("stop wallet-rpc %s: %w", w.Name, err)
	}
	return nil
}

// StartN starts n instances named rpc-1..rpc-n in parallel, each in
// baseDir/rpc-i with its own port; opts supplies the shared settings (its
// Name, Dir and Port are ignored, LogDir is shared if set). If any fails, the
// ones that started are stopped.
func StartN(ctx context.Context, n int, baseDir string, opts Options) ([]*WalletRPC, error) {
	rpcs := make([]*WalletRPC, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		o := opts
		o.Name = fmt.Sprintf("rpc-%d", i+1)
		o.Dir = filepath.Join(baseDir, o.Name)
		o.Port = 0
		wg.Go(func() { rpcs[i], errs[i] = Start(ctx, o) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = StopAll(rpcs)
		return nil, fmt.Errorf("start %d wallet-rpcs: %w", n, err)
	}
	return rpcs, nil
}

// StopAll stops every non-nil instance in parallel (each stores its
// wallet, so serial stops would add up) and joins their errors.
func StopAll(rpcs []*WalletRPC) error {
	errs := make([]error, len(rpcs))
	var wg sync.WaitGroup
	for i, w := range rpcs {
		if w != nil {
			wg.Go(func() { errs[i] = w.Stop() })
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// daemonSSLArgs turns TLS to the daemon off when there is no daemon (--offline) or it is on
// loopback, unless ExtraArgs say otherwise. With the default "autodetect", wallet-rpc
// 0.18 generates an RSA certificate for the daemon connection on every create_wallet and
// open_wallet: about a third of their CPU, measured at 3.4 → 2.2 CPU-s per create (the log
// shows "Generating SSL certificate" once per call instead of twice).
func daemonSSLArgs(opts Options) []string {
	for _, a := range opts.ExtraArgs {
		if a == "--daemon-ssl" || strings.HasPrefix(a, "--daemon-ssl=") {
			return nil
		}
	}
	if opts.Offline || opts.DaemonAddress == "" || isLoopback(opts.DaemonAddress) {
		return []string{"--daemon-ssl", "disabled"}
	}
	return nil
}

// isLoopback reports whether a daemon host:port is on this machine.
func isLoopback(hostPort string) bool {
	h, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		h = hostPort
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
