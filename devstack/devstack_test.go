package devstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// TestMain fails the run if any test left a child process behind: the
// package promise is "no orphans", and only a scan after all tests proves it.
func TestMain(m *testing.M) {
	code := m.Run()
	if kids := childPIDs(os.Getpid()); len(kids) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: child processes left behind: %v\n", describePIDs(kids))
		code = 1
	}
	os.Exit(code)
}

func TestTwoTemporalDevServersAtOnce(t *testing.T) {
	skipShort(t)
	t.Parallel()
	attrs := map[string]string{"EscrowPhase": "Keyword", "EscrowRound": "Int"}
	servers := make([]*Temporal, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range servers {
		wg.Go(func() {
			start := time.Now()
			servers[i], errs[i] = StartTemporal(t.Context(), TemporalOptions{
				Dir:              t.TempDir(),
				Namespace:        "escrow-test",
				SearchAttributes: attrs,
			})
			t.Logf("temporal %d ready in %s", i, time.Since(start))
		})
	}
	wg.Wait()
	for _, s := range servers {
		if s != nil {
			t.Cleanup(func() { _ = s.Stop() })
		}
	}
	require.NoError(t, errors.Join(errs...))

	ports := map[int]bool{}
	for _, s := range servers {
		t.Logf("temporal pid %d grpc %d ui %d http %d metrics %d", s.Proc.Pid(), s.GRPCPort, s.UIPort, s.HTTPPort, s.MetricsPort)
		for _, p := range serverPorts(s) {
			require.NotZero(t, p)
			require.False(t, ports[p], "port %d used twice", p)
			ports[p] = true
			assertListening(t, p)
		}
		assert.Equal(t, "127.0.0.1:"+strconv.Itoa(s.GRPCPort), s.HostPort)
		assert.Equal(t, "http://127.0.0.1:"+strconv.Itoa(s.UIPort), s.UIURL)
		assert.Equal(t, s.UIURL+"/namespaces/escrow-test/workflows/escrow-1/run-1/history", s.WorkflowURL("escrow-1", "run-1"))

		c, err := client.Dial(client.Options{
			HostPort: s.HostPort, Namespace: s.Namespace,
			Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
		})
		require.NoError(t, err)
		_, err = c.CheckHealth(t.Context(), &client.CheckHealthRequest{})
		require.NoError(t, err)
		resp, err := c.OperatorService().ListSearchAttributes(t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace})
		require.NoError(t, err)
		assert.Equal(t, enums.INDEXED_VALUE_TYPE_KEYWORD, resp.GetCustomAttributes()["EscrowPhase"])
		assert.Equal(t, enums.INDEXED_VALUE_TYPE_INT, resp.GetCustomAttributes()["EscrowRound"])
		c.Close()

		res, err := http.Get(s.UIURL + "/")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, "web UI answers")
	}

	for _, s := range servers {
		start := time.Now()
		require.NoError(t, s.Stop())
		t.Logf("temporal pid %d stopped in %s", s.Proc.Pid(), time.Since(start))
		require.NoError(t, s.Stop(), "Stop is idempotent")
		assertGone(t, s.Proc.Pid())
		for _, p := range serverPorts(s) {
			assertNotListening(t, p)
		}
	}
}

func TestTemporalRestartKeepsAddressAndHistory(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s, err := StartTemporal(t.Context(), TemporalOptions{Dir: t.TempDir(), Headless: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop() })
	assert.Empty(t, s.UIURL)
	assert.Empty(t, s.WorkflowURL("w", "r"))

	c, err := client.Dial(client.Options{HostPort: s.HostPort, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	require.NoError(t, err)
	defer c.Close()
	run, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: "kept", TaskQueue: "none"}, "NoSuchWorkflow")
	require.NoError(t, err)

	s2, err := s.Restart(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s2.Stop() })
	assertGone(t, s.Proc.Pid())
	assert.Equal(t, s.HostPort, s2.HostPort)
	// The same client reconnects to the same address and finds the run.
	desc, err := c.DescribeWorkflow(t.Context(), "kept", run.GetRunID())
	require.NoError(t, err)
	assert.Equal(t, enums.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.RawResponse.GetWorkflowExecutionInfo().GetStatus())
	require.NoError(t, s2.Stop())
	assertGone(t, s2.Proc.Pid())
}

func TestThreeWalletRPCs(t *testing.T) {
	skipShort(t)
	t.Parallel()
	start := time.Now()
	rpcs, err := StartWalletRPCs(t.Context(), 3, t.TempDir(), WalletRPCOptions{Offline: true})
	require.NoError(t, err)
	t.Logf("3 wallet-rpcs ready in %s", time.Since(start))
	t.Cleanup(func() { _ = StopWalletRPCs(rpcs) })

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
	assertClosed(t, victim.Proc.Done())
	assert.Error(t, victim.Proc.ExitErr(), "a SIGKILLed process has an exit error")
	assertGone(t, victim.Proc.Pid())
	assertNotListening(t, victim.Port)

	for _, w := range rpcs[1:] {
		assert.NotZero(t, getVersion(t, w.URL), "%s survives its sibling's crash", w.Name)
	}
	// Stop must let wallet-rpc store the open wallet: the attribute set after
	// create_wallet lives only in memory until then.
	rpcCall(t, rpcs[1].URL, "create_wallet", `{"filename":"w","password":"","language":"English"}`)
	rpcCall(t, rpcs[1].URL, "set_attribute", `{"key":"stored-on-stop","value":"yes"}`)
	start = time.Now()
	require.NoError(t, StopWalletRPCs(rpcs[1:]))
	t.Logf("stopped in %s", time.Since(start))
	for _, w := range rpcs {
		assertGone(t, w.Proc.Pid())
		assertNotListening(t, w.Port)
	}
	// A clean exit status means wallet-rpc's own SIGTERM handler ran, which
	// stores the open wallet; a default-action death would be "signal: terminated".
	for _, w := range rpcs[1:] {
		assert.NoError(t, w.Proc.ExitErr(), "%s exits cleanly on SIGTERM", w.Name)
	}

	again, err := StartWalletRPC(t.Context(), WalletRPCOptions{Name: "again", Dir: rpcs[1].Dir, Offline: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = again.Stop() })
	rpcCall(t, again.URL, "open_wallet", `{"filename":"w","password":""}`)
	var attr struct{ Value string }
	require.NoError(t, json.Unmarshal(rpcCall(t, again.URL, "get_attribute", `{"key":"stored-on-stop"}`), &attr))
	assert.Equal(t, "yes", attr.Value, "the wallet was stored on SIGTERM")
	require.NoError(t, again.Stop())
	assertGone(t, again.Proc.Pid())
}

func TestWalletRPCWithLogin(t *testing.T) {
	skipShort(t)
	t.Parallel()
	dir := t.TempDir()
	w, err := StartWalletRPC(t.Context(), WalletRPCOptions{
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
	assertGone(t, w.Proc.Pid())
}

func TestWalletRPCStartFailureIncludesLog(t *testing.T) {
	skipShort(t)
	t.Parallel()
	// Taking the port ourselves makes wallet-rpc fail to bind; the caller
	// chose the port, so there is no retry and the error shows the log.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	_, err = StartWalletRPC(t.Context(), WalletRPCOptions{
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

func serverPorts(s *Temporal) []int { return []int{s.GRPCPort, s.UIPort, s.HTTPPort, s.MetricsPort} }

// skipShort skips a test that runs real servers in the unit-only mode (go test -short),
// which the README documents; every other run needs the real binaries.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs real servers; unit-only mode (-short)")
	}
}

// TestAnOfflineWalletRPCMakesNoDaemonCertificate: with the daemon's TLS left on
// "autodetect", wallet-rpc generates two RSA certificates per create_wallet, one of them
// for the daemon connection; offline (or on loopback) that one is pure waste.
func TestAnOfflineWalletRPCMakesNoDaemonCertificate(t *testing.T) {
	skipShort(t)
	t.Parallel()
	w, err := StartWalletRPC(t.Context(), WalletRPCOptions{Name: "certs", Dir: t.TempDir(), Offline: true, LogDir: t.TempDir(), ExtraArgs: []string{"--log-level", "1"}})
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
		opts WalletRPCOptions
		off  bool
	}{
		{WalletRPCOptions{Offline: true}, true},
		{WalletRPCOptions{DaemonAddress: "127.0.0.1:18081"}, true},
		{WalletRPCOptions{DaemonAddress: "localhost:18081"}, true},
		{WalletRPCOptions{DaemonAddress: "[::1]:18081"}, true},
		{WalletRPCOptions{}, true}, // wallet-rpc's default daemon is localhost
		{WalletRPCOptions{DaemonAddress: "node.example.org:18089"}, false},
		{WalletRPCOptions{DaemonAddress: "10.0.0.5:18081"}, false},
		{WalletRPCOptions{Offline: true, ExtraArgs: []string{"--daemon-ssl", "enabled"}}, false},
	} {
		got := daemonSSLArgs(c.opts)
		assert.Equal(t, c.off, len(got) == 2 && got[1] == "disabled", "%+v: %v", c.opts, got)
	}
}
