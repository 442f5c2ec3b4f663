package walletproc

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/walletproc/proctest"
)

func TestThreeWalletRPCs(t *testing.T) {
	proctest.SkipShort(t)
	t.Parallel()
	start := time.Now()
	rpcs, err := StartN(t.Context(), 3, t.TempDir(), Options{Offline: true})
	require.NoError(t, err)
	t.Logf("3 wallet-rpcs ready in %s", time.Since(start))
	t.Cleanup(func() { _ = StopAll(rpcs) })

	ports := map[int]bool{}
	for i, w := range rpcs {
		assert.Equal(t, fmt.Sprintf("rpc-%d", i+1), w.Name)
		assert.Equal(t, "rpc-"+strconv.Itoa(i+1), filepath.Base(w.Dir))
		require.False(t, ports[w.Port], "port %d used twice", w.Port)
		ports[w.Port] = true
		v := getVersion(t, w.URL)
		assert.NotZero(t, v, "get_version on %s", w.Name)
	}

	victim := rpcs[0]
	require.NoError(t, victim.Proc.Kill())
	proctest.AssertClosed(t, victim.Proc.Done())
	assert.Error(t, victim.Proc.ExitErr(), "a SIGKILLed process has an exit error")
	proctest.AssertGone(t, victim.Proc.Pid())
	proctest.AssertNotListening(t, victim.Port)

	for _, w := range rpcs[1:] {
		assert.NotZero(t, getVersion(t, w.URL), "%s survives its sibling's crash", w.Name)
	}
	// Stop must let wallet-rpc store the open wallet: the attribute set after
	// create_wallet lives only in memory until then.
	rpcCall(t, rpcs[1].URL, "create_wallet", `{"filename":"w","password":"","language":"English"}`)
	rpcCall(t, rpcs[1].URL, "set_attribute", `{"key":"stored-on-stop","value":"yes"}`)
	start = time.Now()
	require.NoError(t, StopAll(rpcs[1:]))
	t.Logf("stopped in %s", time.Since(start))
	for _, w := range rpcs {
		proctest.AssertGone(t, w.Proc.Pid())
		proctest.AssertNotListening(t, w.Port)
	}
	// A clean exit status means wallet-rpc's own SIGTERM handler ran, which
	// stores the open wallet; a default-action death would be "signal: terminated".
	for _, w := range rpcs[1:] {
		assert.NoError(t, w.Proc.ExitErr(), "%s exits cleanly on SIGTERM", w.Name)
	}

	again, err := Start(t.Context(), Options{Name: "again", Dir: rpcs[1].Dir, Offline: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = again.Stop() })
	rpcCall(t, again.URL, "open_wallet", `{"filename":"w","password":""}`)
	var attr struct{ Value string }
	require.NoError(t, json.Unmarshal(rpcCall(t, again.URL, "get_attribute", `{"key":"stored-on-stop"}`), &attr))
	assert.Equal(t, "yes", attr.Value, "the wallet was stored on SIGTERM")
	require.NoError(t, again.Stop())
	proctest.AssertGone(t, again.Proc.Pid())
}

func TestWalletRPCWithLogin(t *testing.T) {
	proctest.SkipShort(t)
	t.Parallel()
	dir := t.TempDir()
	w, err := Start(t.Context(), Options{
		Name: "login", Dir: filepath.Join(dir, "wallets"), LogDir: filepath.Join(dir, "logs"),
		Offline: true, Username: "escrow", Password: "s3cret",
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Stop() })
	res, err := http.Post(w.URL+"/json_rpc", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":"0","method":"get_version"}`))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "login is enforced")
	assert.FileExists(t, filepath.Join(dir, "logs", "login.log"))
	require.NoError(t, w.Stop())
	proctest.AssertGone(t, w.Proc.Pid())
}

func TestWalletRPCStartFailureIncludesLog(t *testing.T) {
	proctest.SkipShort(t)
	t.Parallel()
	// Taking the port ourselves makes wallet-rpc fail to bind; the caller
	// chose the port, so there is no retry and the error shows the log.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	_, err = Start(t.Context(), Options{
		Name: "clash", Dir: t.TempDir(), Offline: true, Port: l.Addr().(*net.TCPAddr).Port,
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--- tail of")
	t.Log(err)
}

// rpcCall calls a wallet-rpc JSON-RPC method and returns its result,
// failing the test on any transport or RPC error.
func rpcCall(t *testing.T, url, method, params string) json.RawMessage {
	t.Helper()
	if params == "" {
		params = "{}"
	}
	body := `{"jsonrpc":"2.0","id":"0","method":"` + method + `","params":` + params + `}`
	res, err := http.Post(url+"/json_rpc", "application/json", strings.NewReader(body))
	require.NoError(t, err, method)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, method)
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out), method)
	require.Nil(t, out.Error, "%s: %+v", method, out.Error)
	return out.Result
}

// getVersion calls get_version and returns the version number.
func getVersion(t *testing.T, url string) uint32 {
	t.Helper()
	var v struct{ Version uint32 }
	require.NoError(t, json.Unmarshal(rpcCall(t, url, "get_version", ""), &v))
	return v.Version
}

// TestAnOfflineWalletRPCMakesNoDaemonCertificate: with the daemon's TLS left on
// "autodetect", wallet-rpc generates two RSA certificates per create_wallet, one of them
// for the daemon connection; offline (or on loopback) that one is pure waste.
func TestAnOfflineWalletRPCMakesNoDaemonCertificate(t *testing.T) {
	proctest.SkipShort(t)
	t.Parallel()
	w, err := Start(t.Context(), Options{Name: "certs", Dir: t.TempDir(), Offline: true, LogDir: t.TempDir(), ExtraArgs: []string{"--log-level", "1"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Stop() })
	count := func() int {
		b, err := os.ReadFile(w.LogPath)
		require.NoError(t, err)
		return strings.Count(string(b), "Generating SSL certificate")
	}
	before := count()
	rpcCall(t, w.URL, "create_wallet", `{"filename":"w","password":"","language":"English"}`)
	assert.Equal(t, 1, count()-before, "one certificate per create_wallet, not two")
}

func TestDaemonTLSIsOffOnlyForNoOrALoopbackDaemon(t *testing.T) {
	for _, c := range []struct {
		opts Options
		off  bool
	}{
		{Options{Offline: true}, true},
		{Options{DaemonAddress: "127.0.0.1:18081"}, true},
		{Options{DaemonAddress: "localhost:18081"}, true},
		{Options{DaemonAddress: "[::1]:18081"}, true},
		{Options{}, true}, // wallet-rpc's default daemon is localhost
		{Options{DaemonAddress: "node.example.org:18089"}, false},
		{Options{DaemonAddress: "10.0.0.5:18081"}, false},
		{Options{Offline: true, ExtraArgs: []string{"--daemon-ssl", "enabled"}}, false},
	} {
		got := daemonSSLArgs(c.opts)
		assert.Equal(t, c.off, len(got) == 2 && got[1] == "disabled", "%+v: %v", c.opts, got)
	}
}

// TestOnlyARegtestDaemonAllowsAMismatchedDaemonVersion: the flag that lets wallet-rpc
// 0.18.5.3 refresh from a regtest chain is never on by default, so a production instance
// keeps the check that tells an outdated daemon.
func TestOnlyARegtestDaemonAllowsAMismatchedDaemonVersion(t *testing.T) {
	const flag = "--allow-mismatched-daemon-version"
	for _, o := range []Options{{Offline: true}, {DaemonAddress: "node.example.org:18089"}, {DaemonAddress: "127.0.0.1:18081"}} {
		assert.NotContains(t, walletRPCArgs(18083, "/w", "/w/x.log", o), flag, "%+v", o)
	}
	args := walletRPCArgs(18083, "/w", "/w/x.log", Options{DaemonAddress: "127.0.0.1:18081", RegtestDaemon: true})
	assert.Contains(t, args, flag)
	assert.Contains(t, args, "--trusted-daemon")
}
