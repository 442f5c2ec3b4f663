package walletrpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	walletRPCDefaultPath = "/usr/bin/monero-wallet-rpc"
	readyTimeout         = 60 * time.Second // wallet-rpc needs 2-7 s to listen, more under load
)

// walletRPCBinary finds monero-wallet-rpc or fails with install instructions.
func walletRPCBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts monero-wallet-rpc; skipped in -short mode")
	}
	if p, err := exec.LookPath("monero-wallet-rpc"); err == nil {
		return p
	}
	if _, err := os.Stat(walletRPCDefaultPath); err == nil {
		return walletRPCDefaultPath
	}
	t.Fatal("monero-wallet-rpc not found: install it with `apt-get install -y monero` (or run `make test`, which installs it)")
	return ""
}

// walletRPC is one running wallet-rpc process owned by a test.
type walletRPC struct {
	url     string
	dir     string
	logPath string
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launchWalletRPC starts wallet-rpc and waits until get_version answers. login is
// "user:pass" for digest auth or "" for --disable-rpc-login. Safe to call from goroutines.
func launchWalletRPC(t *testing.T, bin, login string) (*walletRPC, error) {
	var lastErr error
	for range 3 { // a lost race for the free port makes the process exit; try another port
		p, err := tryLaunchWalletRPC(t, bin, login)
		if err == nil {
			return p, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func tryLaunchWalletRPC(t *testing.T, bin, login string) (*walletRPC, error) {
	dir := t.TempDir()
	walletDir := filepath.Join(dir, "wallets")
	if err := os.Mkdir(walletDir, 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &walletRPC{
		url:     fmt.Sprintf("http://127.0.0.1:%d", port),
		dir:     walletDir,
		logPath: filepath.Join(dir, "rpc.log"),
	}
	args := []string{
		"--offline", "--rpc-bind-ip", "127.0.0.1", "--rpc-bind-port", fmt.Sprint(port),
		"--wallet-dir", walletDir, "--rpc-ssl", "disabled", "--daemon-ssl", "disabled", "--log-file", p.logPath, "--non-interactive",
	}
	cfg := Config{URL: p.url, Timeout: 2 * time.Second}
	if login == "" {
		args = append(args, "--disable-rpc-login")
	} else {
		args = append(args, "--rpc-login", login)
		cfg.Username, cfg.Password, _ = strings.Cut(login, ":")
	}
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})

	client := New(cfg)
	deadline := time.Now().Add(readyTimeout)
	for {
		_, err := client.GetVersion(context.Background())
		if err == nil {
			return p, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("wallet-rpc exited before ready (%v); log tail:\n%s", cmd.ProcessState, logTail(p.logPath))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("wallet-rpc not ready after %v: %v; log tail:\n%s", readyTimeout, err, logTail(p.logPath))
		}
	}
}

func startWalletRPC(t *testing.T, login string) *walletRPC {
	t.Helper()
	p, err := launchWalletRPC(t, walletRPCBinary(t), login)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

func timed(t *testing.T, what string, f func() error) error {
	t.Helper()
	start := time.Now()
	err := f()
	t.Logf("%s: %v (err=%v)", what, time.Since(start).Round(10*time.Millisecond), err)
	return err
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func wantRPCCode(t *testing.T, err error, code int, retryable bool) *RPCError {
	t.Helper()
	var rpcErr *RPCError
	if !errors.As(err, &rpcErr) {
		t.Fatalf("want *RPCError %d, got %T %v", code, err, err)
	}
	if rpcErr.Code != code {
		t.Fatalf("want code %d, got %d %q", code, rpcErr.Code, rpcErr.Message)
	}
	if IsRetryable(err) != retryable {
		t.Fatalf("IsRetryable(%v) = %v, want %v", err, !retryable, retryable)
	}
	return rpcErr
}

func checkAddress(t *testing.T, addr string) {
	t.Helper()
	if len(addr) != 95 || addr[0] != '4' {
		t.Fatalf("address %q: want 95 chars starting with '4' (mainnet)", addr)
	}
}
