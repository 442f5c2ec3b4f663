package activities

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// roleEnv runs one role's activities against its own real wallet-rpc.
type roleEnv struct {
	role     escrow.Role
	w        *Wallet
	env      *testsuite.TestActivityEnvironment
	rpc      *devstack.WalletRPC
	counters *Counters
}

func startRoles(t *testing.T) []*roleEnv {
	t.Helper()
	return startRolesWith(t, devstack.WalletRPCOptions{Offline: true}, nil)
}

// startRolesWith starts the roles' wallet-rpcs with opts; daemon, if set, is the monerod their
// activities compare wallets against.
func startRolesWith(t *testing.T, opts devstack.WalletRPCOptions, daemon *walletrpc.Daemon) []*roleEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs real monero-wallet-rpc processes (drop -short to run it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rpcs, err := devstack.StartWalletRPCs(ctx, len(escrow.Roles), t.TempDir(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = devstack.StopWalletRPCs(rpcs) })
	var suite testsuite.WorkflowTestSuite
	out := make([]*roleEnv, len(rpcs))
	for i, r := range rpcs {
		c := &Counters{}
		w, err := NewWallet(WalletConfig{
			Instance: r.Name,
			RPC:      walletrpc.New(walletrpc.Config{URL: r.URL, Timeout: 2 * time.Minute}),
			Dir:      r.Dir,
			Secret:   bytes.Repeat([]byte{7}, 32),
			Counters: c,
			Daemon:   daemon,
		})
		require.NoError(t, err)
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivity(w)
		out[i] = &roleEnv{role: escrow.Roles[i], w: w, env: env, rpc: r, counters: c}
	}
	return out
}

func run[Out any](t *testing.T, r *roleEnv, fn any, in any) Out {
	t.Helper()
	v, err := r.env.ExecuteActivity(fn, in)
	require.NoError(t, err, "%s", r.role)
	var out Out
	require.NoError(t, v.Get(&out))
	return out
}

// parallel runs f for every role at once, as the workflow does.
func parallel(roles []*roleEnv, f func(r *roleEnv)) {
	var wg sync.WaitGroup
	for _, r := range roles {
		wg.Add(1)
		go func() { defer wg.Done(); f(r) }()
	}
	wg.Wait()
}

// createAndPrepare creates every role's wallet and prepares it, each step run times (a
// retry after a lost result), and returns the last prepare messages.
func createAndPrepare(t *testing.T, roles []*roleEnv, id string, times int) map[escrow.Role]string {
	infos := map[escrow.Role]string{}
	var mu sync.Mutex
	parallel(roles, func(r *roleEnv) {
		in := WalletInput{EscrowID: id, Role: r.role}
		var msg MultisigMessage
		for i := 0; i < times; i++ {
			res := run[CreateWalletResult](t, r, r.w.CreateWallet, in)
			assert.Equal(t, i > 0, res.Reused, "%s attempt %d", r.role, i+1)
			msg = run[MultisigMessage](t, r, r.w.PrepareMultisig, in)
		}
		mu.Lock()
		infos[r.role] = msg.Info
		mu.Unlock()
	})
	return infos
}

func others(infos map[escrow.Role]string, r escrow.Role) []string {
	var out []string
	for _, o := range r.Others() {
		out = append(out, infos[o])
	}
	return out
}

// TestEveryStepRunTwiceEndsAsIfOnce runs every step of a real setup twice, as a retry after
// a lost result would, and uses the second answer: the wallets must still end as one
// 2-of-3 multisig wallet, with one wallet per role and no snapshot left.
func TestEveryStepRunTwiceEndsAsIfOnce(t *testing.T) {
	roles := startRoles(t)
	const id = "twice"
	infos := createAndPrepare(t, roles, id, 2)
	var mu sync.Mutex
	for _, r := range roles {
		assert.Equal(t, int64(1), r.counters.Creates.Load(), "%s: one create_wallet, the retry reused it", r.role)
	}
	for round := 1; round <= escrow.Rounds; round++ {
		next := map[escrow.Role]string{}
		parallel(roles, func(r *roleEnv) {
			fn := r.w.ExchangeMultisigKeys
			if round == 1 {
				fn = r.w.MakeMultisig
			}
			in := RoundInput{EscrowID: id, Role: r.role, Round: round, Infos: others(infos, r.role)}
			first := run[RoundResult](t, r, fn, in)
			second := run[RoundResult](t, r, fn, in)
			assert.False(t, first.Restored, "round %d %s", round, r.role)
			assert.True(t, second.Restored, "round %d %s: the retry starts from the snapshot", round, r.role)
			mu.Lock()
			next[r.role] = second.Info
			mu.Unlock()
		})
		infos = next
	}
	var addr string
	for _, r := range roles {
		v := run[VerifyResult](t, r, r.w.VerifyMultisig, WalletInput{EscrowID: id, Role: r.role})
		assert.True(t, v.Multisig && v.Ready, "%s: %+v", r.role, v)
		assert.Equal(t, uint32(2), v.Threshold)
		assert.Equal(t, uint32(3), v.Total)
		require.Len(t, v.Address, escrow.AddressLength)
		if addr == "" {
			addr = v.Address
		}
		assert.Equal(t, addr, v.Address, "%s sees the same address", r.role)
		entries, err := os.ReadDir(r.rpc.Dir)
		require.NoError(t, err)
		var names []string
		for _, e := range entries {
			if !e.IsDir() && filepath.Ext(e.Name()) != ".log" && filepath.Ext(e.Name()) != ".out" {
				names = append(names, e.Name())
			}
		}
		name := escrow.WalletName(id, r.role)
		assert.ElementsMatch(t, []string{name, name + ".keys"}, names, "%s: one wallet, no leftovers", r.role)
		_, err = os.Stat(filepath.Join(r.rpc.Dir, snapshotDir, name))
		assert.True(t, errors.Is(err, os.ErrNotExist), "%s: snapshots removed", r.role)
	}
}

// TestTamperedOrMissingMessagesEndTheStep checks that bad multisig data is refused without
// retries and leaves the wallet usable.
func TestTamperedOrMissingMessagesEndTheStep(t *testing.T) {
	roles := startRoles(t)
	const id = "tamper"
	infos := createAndPrepare(t, roles, id, 1)
	b := roles[0]
	good := others(infos, b.role)
	tampered := []string{good[0], good[1][:len(good[1])-8] + "AAAAAAAA"}
	for name, in := range map[string]RoundInput{
		"tampered message": {EscrowID: id, Role: b.role, Round: 1, Infos: tampered},
	} {
		_, err := b.env.ExecuteActivity(b.w.MakeMultisig, in)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), "%s: %v", name, err)
		assert.True(t, appErr.NonRetryable(), "%s: a retry cannot fix bad data", name)
	}
	for name, in := range map[string]RoundInput{
		"one message":    {EscrowID: id, Role: b.role, Round: 1, Infos: good[:1]},
		"not a message":  {EscrowID: id, Role: b.role, Round: 1, Infos: []string{good[0], "garbage"}},
		"round 4":        {EscrowID: id, Role: b.role, Round: 4, Infos: good},
		"path in the id": {EscrowID: "../x", Role: b.role, Round: 1, Infos: good},
		"unknown role":   {EscrowID: id, Role: "thief", Round: 1, Infos: good},
	} {
		_, err := b.env.ExecuteActivity(b.w.MakeMultisig, in)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), "%s: %v", name, err)
		assert.Equal(t, escrow.ErrTypeInvalidInput, appErr.Type(), name)
	}
	// The refused attempts left the wallet able to run round 1 properly.
	res := run[RoundResult](t, b, b.w.MakeMultisig, RoundInput{EscrowID: id, Role: b.role, Round: 1, Infos: good})
	assert.NotEmpty(t, res.Info)
}

// TestWalletRPCRestartIsNoticedAndTheWalletReopened restarts a wallet-rpc behind the
// worker's back: the next step finds no wallet open, opens it once and goes on.
func TestWalletRPCRestartIsNoticedAndTheWalletReopened(t *testing.T) {
	roles := startRoles(t)
	r := roles[0]
	in := WalletInput{EscrowID: "restart", Role: r.role}
	run[CreateWalletResult](t, r, r.w.CreateWallet, in)
	before := run[MultisigMessage](t, r, r.w.PrepareMultisig, in)
	assert.Zero(t, before.Opens, "the created wallet is still open")

	require.NoError(t, r.rpc.Stop())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	restarted, err := devstack.StartWalletRPC(ctx, devstack.WalletRPCOptions{Name: r.rpc.Name, Dir: r.rpc.Dir, Port: r.rpc.Port, Offline: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = restarted.Stop() })

	after := run[MultisigMessage](t, r, r.w.PrepareMultisig, in)
	assert.Equal(t, 1, after.Opens, "one open after the restart")
	assert.Equal(t, int64(1), r.counters.Mismatches.Load(), "the wallet believed open was not")
	again := run[MultisigMessage](t, r, r.w.PrepareMultisig, in)
	assert.Zero(t, again.Opens, "and none after that")
}

// TestTwoProcessesOnOneWalletRPCDoNotCrossWallets is issue 10's crossing on a real
// wallet-rpc: a second process (another Wallet value on the same instance) opens its own
// wallet between two steps of the first. The first one's next step must notice, count it,
// reopen its own wallet and run there, and the label must be on disk for the next open.
func TestTwoProcessesOnOneWalletRPCDoNotCrossWallets(t *testing.T) {
	roles := startRoles(t)
	r := roles[0]
	other, err := NewWallet(WalletConfig{Instance: r.rpc.Name, RPC: walletrpc.New(walletrpc.Config{URL: r.rpc.URL, Timeout: 2 * time.Minute}), Dir: r.rpc.Dir, Secret: bytes.Repeat([]byte{7}, 32)})
	require.NoError(t, err)
	var suite testsuite.WorkflowTestSuite
	otherEnv := suite.NewTestActivityEnvironment()
	otherEnv.RegisterActivity(other)

	mine := WalletInput{EscrowID: "mine", Role: r.role}
	run[CreateWalletResult](t, r, r.w.CreateWallet, mine)
	_, err = otherEnv.ExecuteActivity(other.CreateWallet, WalletInput{EscrowID: "theirs", Role: r.role})
	require.NoError(t, err)

	msg := run[MultisigMessage](t, r, r.w.PrepareMultisig, mine)
	assert.Equal(t, 1, msg.Opens, "its own wallet was reopened")
	assert.Equal(t, int64(1), r.counters.Mismatches.Load())
	rpc := walletrpc.New(walletrpc.Config{URL: r.rpc.URL})
	label, err := rpc.GetAttribute(context.Background(), WalletLabelKey)
	require.NoError(t, err)
	assert.Equal(t, escrow.WalletName("mine", r.role), label, "the step ran on its own wallet")

	again := run[MultisigMessage](t, r, r.w.PrepareMultisig, mine)
	assert.Zero(t, again.Opens)
	assert.Equal(t, int64(1), r.counters.Mismatches.Load(), "no second mismatch")
}
