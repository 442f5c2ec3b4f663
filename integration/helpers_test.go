package integration

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/localstack"
	"github.com/xmr-escrow/xmr-escrow/internal/store/storetest"
	"github.com/xmr-escrow/xmr-escrow/internal/temporalclient"
	"github.com/xmr-escrow/xmr-escrow/worker"
)

// testSecret is the wallet secret of every test stack; the tests derive wallet passwords
// from it on their own to open wallets behind the product's back.
var testSecret = bytes.Repeat([]byte{0x5a}, 32)

func startStack(t testing.TB, rpcs int) *localstack.Stack {
	t.Helper()
	return startStackWith(t, stackOptions{rpcs: rpcs})
}

// stackOptions shape a test stack.
type stackOptions struct {
	rpcs int
	// chain, if set, connects the wallet-rpc pool to its daemon (nil: offline).
	chain *devstack.Chain
	// webUI starts the dev server with its Web UI (on a free port, decoding through the
	// stack's codec server).
	webUI bool
	// daemon, if set, is where the pool reaches the chain's monerod (a proxy).
	daemon string
	// grow lets the pool grow to this many instances while setups wait (0: fixed).
	grow int
	// watcher is the block watcher's monerod URL (default: the chain's, none without one).
	watcher string
	// nextFork is the worker's setting for the next hard fork's height.
	nextFork uint64
	// temporal, if set, is a Temporal cluster to run on instead of a dev server.
	temporal *temporalclient.Options
	// noKeyCache runs the pool's wallet-rpcs as stock wallet-rpc, without the key cache.
	noKeyCache bool
}

// startStackWith starts a local stack as o says.
func startStackWith(t testing.TB, o stackOptions) *localstack.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs the real Temporal dev server and wallet-rpc (drop -short to run it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	core, logs := observer.New(zapcore.InfoLevel)
	s, err := localstack.Start(ctx, localstack.Options{
		Dir:             t.TempDir(),
		WalletRPCs:      o.rpcs,
		WalletRPCsMax:   o.grow,
		BlockWatcherURL: o.watcher,
		Headless:        !o.webUI,
		WalletSecret:    testSecret,
		DatabaseURL:     storetest.NewDatabase(t),
		Keys:            testKeys(t),
		Chain:           o.chain,
		DaemonAddress:   o.daemon,
		NextForkHeight:  o.nextFork,
		NoKeyCache:      o.noKeyCache,
		Temporal:        o.temporal,
		Logger:          zap.New(zapcore.NewTee(core, zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel)).Core())),
	})
	require.NoError(t, err, "start the local stack (make test installs monero and the Temporal CLI)")
	t.Cleanup(s.Stop)
	stackLogs[s] = logs
	return s
}

// stackLogs keeps every log line each test stack's worker wrote, for the secrets checks.
var stackLogs = map[*localstack.Stack]*observer.ObservedLogs{}

// input is a valid escrow of the marketplace around id.
func input(id string, delay time.Duration) escrow.EscrowInput {
	return escrow.EscrowInput{
		EscrowID: id, PurgeDelay: &delay,
		Order: escrow.Order{
			OrderID: "order-" + id, BuyerID: "buyer-7", VendorID: "vendor-8", ArbiterID: "arbiter-9",
			AmountAtomic: 2_000_000_000_000, VendorPayoutAddress: vendorAddr, BuyerRefundAddress: buyerAddr,
		},
		// A test waits for the run's end: a second of late-money watching is enough.
		Timing: escrow.Timing{LateMoneyGrace: time.Second},
	}
}

// Real mainnet addresses for escrows that never pay out (public fixtures of moneroaddr).
const (
	vendorAddr = "48qYABs3W1BLzsHcPmPzqDMqQftxBBBQ5DtsEeULhsxqaWknsUPsLkdAq63wqANJ7L2ZdBbZxwVvBfZz3E4Aw4RUMFDn6h5"
	buyerAddr  = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
)

// walletPassword derives a wallet's password the way the worker does.
func walletPassword(escrowID string, role escrow.Role) string {
	m := hmac.New(sha256.New, testSecret)
	m.Write([]byte("xmr-escrow wallet password\x00" + escrow.WalletName(escrowID, role)))
	return hex.EncodeToString(m.Sum(nil))
}

// rpcError is an error the wallet-rpc answered with.
type rpcError struct {
	method  string
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Error reads as the wallet-rpc's own message.
func (e *rpcError) Error() string { return fmt.Sprintf("%s: %d %s", e.method, e.Code, e.Message) }

// call talks JSON-RPC to a wallet-rpc with plain net/http, so the assertions do not depend
// on the project's own client, and returns the RPC's error as an *rpcError.
func call(url, method string, params any, out any) error {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "0", "method": method, "params": params})
	res, err := http.Post(url+"/json_rpc", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
		return fmt.Errorf("%s: decode: %w", method, err)
	}
	if env.Error != nil {
		env.Error.method = method
		return env.Error
	}
	if out != nil {
		return json.Unmarshal(env.Result, out)
	}
	return nil
}

type multisigState struct {
	Multisig  bool   `json:"multisig"`
	Ready     bool   `json:"ready"`
	Threshold int    `json:"threshold"`
	Total     int    `json:"total"`
	Address   string `json:"-"`
}

// inspectWallet opens a role's wallet on its instance directly and reads its multisig state
// and address.
func inspectWallet(t *testing.T, s *localstack.Stack, instance, escrowID string, role escrow.Role) multisigState {
	t.Helper()
	return inspectWalletAt(t, rpcURL(t, s, instance), escrowID, role)
}

// inspectWalletAt is inspectWallet on the wallet-rpc at url.
func inspectWalletAt(t *testing.T, url, escrowID string, role escrow.Role) multisigState {
	t.Helper()
	st, err := walletState(url, escrowID, role)
	require.NoError(t, err)
	return st
}

// walletState opens a role's wallet on the wallet-rpc at url and reads its multisig state
// and address; it needs no test, so goroutines can use it.
func walletState(url, escrowID string, role escrow.Role) (multisigState, error) {
	var st multisigState
	name := escrow.WalletName(escrowID, role)
	if err := call(url, "open_wallet", map[string]string{"filename": name, "password": walletPassword(escrowID, role)}, nil); err != nil {
		return st, fmt.Errorf("open %s: %w", name, err)
	}
	if err := call(url, "is_multisig", nil, &st); err != nil {
		return st, err
	}
	var addr struct {
		Address string `json:"address"`
	}
	err := call(url, "get_address", map[string]int{"account_index": 0}, &addr)
	st.Address = addr.Address
	return st, err
}

// walletDir is the wallet dir of one of the stack's instances.
func walletDir(t *testing.T, s *localstack.Stack, instance string) string {
	return stackInstance(t, s, instance).WalletDir
}

func rpcURL(t *testing.T, s *localstack.Stack, instance string) string {
	return stackInstance(t, s, instance).URL
}

// stackInstance is the stack's instance of that name.
func stackInstance(t *testing.T, s *localstack.Stack, name string) worker.Instance {
	t.Helper()
	for _, r := range s.RPCs {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no wallet-rpc instance %q", name)
	return worker.Instance{}
}

// walletFiles lists, per instance, the files under its wallet dir that belong to escrowID
// (wallets, snapshots, temporaries), sorted.
func walletFiles(t *testing.T, s *localstack.Stack, escrowID string) []string {
	t.Helper()
	var out []string
	for _, r := range s.RPCs {
		err := filepath.Walk(r.WalletDir, func(path string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(r.WalletDir, path)
			if strings.Contains(rel, "escrow-"+escrowID+"-") && !info.IsDir() {
				out = append(out, r.Name+"/"+rel)
			}
			return nil
		})
		require.NoError(t, err)
	}
	sort.Strings(out)
	return out
}

// workerBinary stops the stack's in-process worker and builds cmd/worker, for tests that run
// the worker as its own process; the process reads the stack's keys and wallet secret from
// the environment, as a deployed worker does. Without tags it is built as production builds
// it, and must carry no crash point; the crash test asks for the crashpoints tag.
func workerBinary(t testing.TB, ctx context.Context, s *localstack.Stack, tags ...string) string {
	t.Helper()
	s.StopWorker()
	keys, err := os.ReadFile(filepath.Join(historyDir, "keys.txt"))
	require.NoError(t, err)
	t.Setenv("XMR_ESCROW_KEYS", strings.TrimSpace(string(keys)))
	t.Setenv("XMR_ESCROW_WALLET_SECRET", hex.EncodeToString(testSecret))
	bin := filepath.Join(t.TempDir(), "worker")
	args := []string{"build", "-o", bin}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	out, err := exec.CommandContext(ctx, "go", append(args, "../cmd/worker")...).CombinedOutput()
	require.NoError(t, err, "go build ./cmd/worker: %s", out)
	if len(tags) == 0 {
		b, err := os.ReadFile(bin)
		require.NoError(t, err)
		require.False(t, bytes.Contains(b, []byte("reached crash point")), "a production build carries the crash points' code")
	}
	return bin
}

// workerArgs are the flags of a worker process on the stack's Temporal and database, serving
// the given wallet-rpc instances.
func workerArgs(s *localstack.Stack, instances ...worker.Instance) []string {
	args := []string{"--address", s.Temporal.HostPort, "--database", s.DatabaseURL, "--metrics-listen", ""}
	for _, in := range instances {
		args = append(args, "--wallet-rpc", fmt.Sprintf("name=%s,url=%s,dir=%s", in.Name, in.URL, in.WalletDir))
	}
	return args
}

// scrapeUntil reads the worker's Prometheus endpoint until done accepts what it serves (or
// 30 s pass) and returns the last body read.
func scrapeUntil(t *testing.T, url string, done func(body string) bool) string {
	t.Helper()
	var body string
	assert.Eventually(t, func() bool {
		res, err := http.Get(url)
		if err != nil {
			return false
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		body = string(b)
		return done(body)
	}, 30*time.Second, 500*time.Millisecond)
	return body
}
