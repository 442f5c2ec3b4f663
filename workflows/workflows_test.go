package workflows

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/activities/placement"
	"github.com/xmr-escrow/xmr-escrow/activities/projection"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// testAddress is the fake multisig address: a valid mainnet address (the setup checks its network).
var testAddress = "41d7FXjswpK1111111111111111111111111111111111111111111111111111111111111111111111111111112KhNi4"

// fakeWallets answers the wallet steps like three honest wallets would, and records what
// it was asked, in which order, on which task queue and at which (test-clock) time.
type fakeWallets struct {
	s     *EscrowSuite
	mu    sync.Mutex
	calls []call
	// barrier makes every step of a round wait until all three roles' steps have
	// started: if the workflow ran them one after another, the round would never complete.
	barrier map[string]*sync.WaitGroup
}

type call struct {
	step      string
	role      escrow.Role
	round     int
	taskQueue string
	at        time.Time
}

func (f *fakeWallets) record(ctx context.Context, step string, role escrow.Role, round int) {
	f.mu.Lock()
	f.calls = append(f.calls, call{step, role, round, activity.GetInfo(ctx).TaskQueue, f.s.env.Now()})
	key := fmt.Sprintf("%s/%d", step, round)
	wg, ok := f.barrier[key]
	if !ok {
		wg = &sync.WaitGroup{}
		wg.Add(len(escrow.Roles))
		f.barrier[key] = wg
	}
	f.mu.Unlock()
	wg.Done()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		f.s.T().Errorf("%s round %d: the three roles' steps did not run in parallel", step, round)
	}
}

func msg(prefix string, role escrow.Role, round int) string {
	return fmt.Sprintf("Multisig%s-%s-%d", prefix, role, round)
}

func (f *fakeWallets) install() {
	env := f.s.env
	f.s.proj.install(env)
	f.s.money.install(env)
	f.s.watch.install(env)
	env.OnActivity(wallet.CreateWallet, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.WalletInput) (activities.CreateWalletResult, error) {
			f.record(ctx, "create", in.Role, 0)
			return activities.CreateWalletResult{Wallet: escrow.WalletName(in.EscrowID, in.Role), Info: msg("xV2", in.Role, 0)}, nil
		})
	env.OnActivity(wallet.PrepareMultisig, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.WalletInput) (activities.MultisigMessage, error) {
			f.record(ctx, "prepare", in.Role, 0)
			return activities.MultisigMessage{Info: msg("xV2", in.Role, 0)}, nil
		})
	round := func(ctx context.Context, in activities.RoundInput) (activities.RoundResult, error) {
		f.record(ctx, "round", in.Role, in.Round)
		for i, o := range in.Role.Others() {
			if want := msg(map[bool]string{true: "xV2", false: ""}[in.Round == 1], o, in.Round-1); in.Infos[i] != want {
				return activities.RoundResult{}, fmt.Errorf("round %d %s got info %q, want %q", in.Round, in.Role, in.Infos[i], want)
			}
		}
		if in.Round == escrow.Rounds {
			return activities.RoundResult{Address: testAddress}, nil
		}
		return activities.RoundResult{Info: msg("", in.Role, in.Round)}, nil
	}
	env.OnActivity(wallet.MakeMultisig, mock.Anything, mock.Anything).Return(round)
	env.OnActivity(wallet.ExchangeMultisigKeys, mock.Anything, mock.Anything).Return(round)
	env.OnActivity(wallet.VerifyMultisig, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.WalletInput) (activities.VerifyResult, error) {
			f.record(ctx, "verify", in.Role, 0)
			return activities.VerifyResult{Address: testAddress, Multisig: true, Ready: true, Threshold: 2, Total: 3}, nil
		})
}

// input fills the marketplace fields of a valid escrow around in.
func input(id string, in escrow.EscrowInput) escrow.EscrowInput {
	in.EscrowID, in.OrderID, in.BuyerID, in.VendorID, in.ArbiterID = id, "order-of-"+id, "u-buyer", "u-vendor", "u-arbiter"
	in.AmountAtomic = 1_500_000_000_000
	in.VendorPayoutAddress, in.BuyerRefundAddress = vendorAddr, buyerAddr
	return in
}

// Real mainnet addresses (public fixtures of package moneroaddr).
const (
	vendorAddr = "48qYABs3W1BLzsHcPmPzqDMqQftxBBBQ5DtsEeULhsxqaWknsUPsLkdAq63wqANJ7L2ZdBbZxwVvBfZz3E4Aw4RUMFDn6h5"
	buyerAddr  = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
)

// projections records every projection write the workflow makes.
type projections struct {
	mu     sync.Mutex
	writes []projection.ProjectInput
}

func (p *projections) install(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(projector.ProjectEscrow, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in projection.ProjectInput) (projection.ProjectResult, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.writes = append(p.writes, in)
			return projection.ProjectResult{Applied: true}, nil
		}).Maybe()
}

// EscrowSuite runs the escrow workflow against mocked wallet steps, with time skipped.
type EscrowSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env     *testsuite.TestWorkflowEnvironment
	wallets *fakeWallets
	proj    *projections
	money   *fakeMoney
	watch   *fakeWatcher
	pool    *placement.Pool
	updates int
}

func (s *EscrowSuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.RegisterWorkflow(Escrow)
	s.env.RegisterActivity(&activities.Wallet{})
	p, err := placement.New([]string{"rpc-1", "rpc-2", "rpc-3"})
	s.Require().NoError(err)
	s.env.RegisterActivity(p.AssignWalletRPCs)
	s.pool = p
	s.env.RegisterActivity(&projection.Projection{})
	s.env.RegisterActivity(&activities.Chain{})
	s.wallets = &fakeWallets{s: s, barrier: map[string]*sync.WaitGroup{}}
	s.proj = &projections{}
	s.money = &fakeMoney{s: s, confirmationsPerCheck: 5}
	s.watch = &fakeWatcher{s: s}
}

func TestEscrowSuite(t *testing.T) { suite.Run(t, new(EscrowSuite)) }

func (s *EscrowSuite) status() escrow.State {
	v, err := s.env.QueryWorkflow(string(escrow.QueryStatus))
	s.Require().NoError(err)
	var st escrow.State
	s.Require().NoError(v.Get(&st))
	return st
}

func (s *EscrowSuite) TestSetupEndsReadyWithTheSharedAddress() {
	s.wallets.install()
	s.env.ExecuteWorkflow(Escrow, input("order-1", escrow.EscrowInput{}))
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var res escrow.EscrowResult
	s.Require().NoError(s.env.GetWorkflowResult(&res))
	s.Equal(testAddress, res.Address)
	s.Equal(escrow.Assignment{Buyer: "rpc-1", Vendor: "rpc-2", Arbiter: "rpc-3"}, res.Assignment)
	st := s.status()
	s.Equal(escrow.PhaseReady, st.Phase)
	s.Equal(testAddress, st.Address)
	s.Equal(3, st.Round)
}

func (s *EscrowSuite) TestStepsRunInRoundOrderOnEachRolesQueue() {
	s.wallets.install()
	s.env.ExecuteWorkflow(Escrow, input("order-2", escrow.EscrowInput{}))
	s.Require().NoError(s.env.GetWorkflowError())
	order := []string{}
	for _, c := range s.wallets.calls {
		key := fmt.Sprintf("%s/%d", c.step, c.round)
		if len(order) == 0 || order[len(order)-1] != key {
			order = append(order, key)
		}
		want := map[escrow.Role]string{escrow.Buyer: "rpc-1", escrow.Vendor: "rpc-2", escrow.Arbiter: "rpc-3"}[c.role]
		s.Equal(escrow.WalletTaskQueue(want), c.taskQueue, "%s %s", key, c.role)
	}
	// CreateWallet brings the round-0 message itself: no separate prepare step.
	s.Equal([]string{"create/0", "round/1", "round/2", "round/3", "verify/0"}, order)
	s.Len(s.wallets.calls, 15)
}

func (s *EscrowSuite) TestPurgeDelayIsADurableTimerBetweenRounds() {
	s.wallets.install()
	delay := 10 * time.Second
	s.env.ExecuteWorkflow(Escrow, input("order-3", escrow.EscrowInput{PurgeDelay: &delay}))
	s.Require().NoError(s.env.GetWorkflowError())
	at := map[int]time.Time{}
	for _, c := range s.wallets.calls {
		if c.step == "round" {
			at[c.round] = c.at
		}
	}
	s.GreaterOrEqual(at[2].Sub(at[1]), delay)
	s.GreaterOrEqual(at[3].Sub(at[2]), delay)
}

func (s *EscrowSuite) TestZeroPurgeDelaySetsNoTimer() {
	s.wallets.install()
	zero := time.Duration(0)
	s.env.ExecuteWorkflow(Escrow, input("order-4", escrow.EscrowInput{PurgeDelay: &zero}))
	s.Require().NoError(s.env.GetWorkflowError())
	first, last := s.wallets.calls[0].at, s.wallets.calls[len(s.wallets.calls)-1].at
	s.Less(last.Sub(first), escrow.DefaultPurgeDelay)
}

func (s *EscrowSuite) TestPhasesAdvanceThroughEveryRound() {
	s.wallets.install()
	seen := []string{}
	delay := time.Minute
	for i := 0; i < 2; i++ {
		// Between rounds the workflow sleeps a minute; query it in the middle of each wait.
		s.env.RegisterDelayedCallback(func() {
			st := s.status()
			seen = append(seen, fmt.Sprintf("%s/%d", st.Phase, st.Round))
		}, time.Duration(i)*delay+delay/2)
	}
	s.env.ExecuteWorkflow(Escrow, input("order-5", escrow.EscrowInput{PurgeDelay: &delay}))
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal([]string{"Exchanging/1", "Exchanging/2"}, seen)
	s.Equal(escrow.PhaseReady, s.status().Phase)
}

func (s *EscrowSuite) TestRejectedStepEndsFailedWithTheReason() {
	s.env.OnActivity(wallet.ExchangeMultisigKeys, mock.Anything, mock.MatchedBy(func(in activities.RoundInput) bool {
		return in.Role == escrow.Vendor && in.Round == 2
	})).Return(activities.RoundResult{}, temporal.NewNonRetryableApplicationError("wallet refused: bad multisig info", escrow.ErrTypeWalletRejected, nil)).Once()
	s.wallets.barrier["round/2"] = &sync.WaitGroup{}
	s.wallets.barrier["round/2"].Add(2) // the vendor's step never reaches the fake
	s.wallets.install()
	s.env.ExecuteWorkflow(Escrow, input("order-6", escrow.EscrowInput{}))
	err := s.env.GetWorkflowError()
	s.Require().Error(err)
	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(err, &appErr))
	st := s.status()
	s.Equal(escrow.PhaseFailed, st.Phase)
	s.Equal(2, st.Round)
	s.Contains(st.Reason, "bad multisig info")
	for _, c := range s.wallets.calls {
		s.NotEqual("verify", c.step, "no step may run after a failed round")
		s.LessOrEqual(c.round, 2)
	}
}

// failVerify makes role's VerifyMultisig answer v and err, runs escrow id's setup, and returns
// its status once the setup has failed.
func (s *EscrowSuite) failVerify(id string, role escrow.Role, v activities.VerifyResult, err error) escrow.State {
	s.env.OnActivity(wallet.VerifyMultisig, mock.Anything, mock.MatchedBy(func(in activities.WalletInput) bool {
		return in.Role == role
	})).Return(v, err)
	s.wallets.barrier["verify/0"] = &sync.WaitGroup{}
	s.wallets.barrier["verify/0"].Add(2) // two roles reach the fake
	s.wallets.install()
	s.env.ExecuteWorkflow(Escrow, input(id, escrow.EscrowInput{}))
	s.Require().Error(s.env.GetWorkflowError())
	st := s.status()
	s.Equal(escrow.PhaseFailed, st.Phase)
	return st
}

func (s *EscrowSuite) TestDifferingAddressesEndFailed() {
	st := s.failVerify("order-7", escrow.Arbiter, activities.VerifyResult{Address: strings.Repeat("4", 95), Multisig: true, Ready: true, Threshold: 2, Total: 3}, nil)
	s.Contains(st.Reason, "arbiter wallet reports address")
}

// A wallet that would never see the buyer's payment (its scan start past the chain's top) ends
// the setup Failed, with the wallet's reason, and the multisig address never goes out: no
// Ready, no funding wait.
func (s *EscrowSuite) TestAWalletThatWouldNeverSeeThePaymentFailsTheSetupWithoutAnAddress() {
	st := s.failVerify("order-13", escrow.Vendor, activities.VerifyResult{}, temporal.NewNonRetryableApplicationError(
		"finished wallet escrow-order-13-vendor on rpc-2 scans from height 3774801, past the chain's 620", escrow.ErrTypeScanStart, nil))
	s.Contains(st.Reason, "scans from height 3774801")
	s.Empty(st.Address, "the address never goes out")
	s.True(st.Funding.Deadline.IsZero(), "no funding wait")
}

func (s *EscrowSuite) TestPinnedAssignmentIsUsed() {
	s.wallets.install()
	pin := escrow.Assignment{Buyer: "alice-rpc", Vendor: "bob-rpc", Arbiter: "arb-rpc"}
	s.env.ExecuteWorkflow(Escrow, input("order-8", escrow.EscrowInput{Assignment: pin}))
	s.Require().NoError(s.env.GetWorkflowError())
	for _, c := range s.wallets.calls {
		s.Equal(escrow.WalletTaskQueue(pin.For(c.role)), c.taskQueue)
	}
}

func (s *EscrowSuite) TestInvalidInputIsRejectedBeforeAnyStep() {
	s.wallets.install()
	s.env.ExecuteWorkflow(Escrow, input("../etc/passwd", escrow.EscrowInput{}))
	err := s.env.GetWorkflowError()
	s.Require().Error(err)
	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(err, &appErr))
	s.Equal(escrow.ErrTypeInvalidInput, appErr.Type())
	s.Empty(s.wallets.calls)
}

func (s *EscrowSuite) TestEveryPhaseChangeIsProjectedWithAGrowingVersion() {
	s.wallets.install()
	s.env.ExecuteWorkflow(Escrow, input("order-10", escrow.EscrowInput{}))
	s.Require().NoError(s.env.GetWorkflowError())
	w := s.proj.writes
	s.Require().NotEmpty(w)
	seen := map[int64]bool{}
	var last projection.ProjectInput
	for _, p := range w {
		s.False(seen[p.Version], "version %d written twice", p.Version)
		seen[p.Version] = true
		if p.Version > last.Version {
			last = p
		}
		s.Equal("order-of-order-10", p.OrderID)
		s.Equal(int64(1_500_000_000_000), p.AmountAtomic)
	}
	sort.Slice(w, func(i, j int) bool { return w[i].Version < w[j].Version })
	var phases []string
	for _, p := range w {
		phases = append(phases, fmt.Sprintf("%s/%s", p.Phase, p.Status))
	}
	s.Equal([]string{"NotStarted/setting_up", "Preparing/setting_up", "Exchanging/setting_up", "Exchanging/setting_up",
		"Exchanging/setting_up", "Ready/ready", "Ready/awaiting_funding", "Ready/cancelled"}, phases,
		"every change, in version order; nobody pays, so the funding deadline cancels")
	s.Equal(escrow.PhaseReady, last.Phase)
	s.Equal(escrow.StatusCancelled, last.Status)
	s.Equal(testAddress, last.Address)
	s.Equal("rpc-2", last.Instances[escrow.Vendor])
	s.Equal(escrow.WalletName("order-10", escrow.Arbiter), last.Wallets[escrow.Arbiter])
}

func (s *EscrowSuite) TestADownDatabaseDelaysOnlyTheProjection() {
	var mu sync.Mutex
	failures := 0
	s.env.OnActivity(projector.ProjectEscrow, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in projection.ProjectInput) (projection.ProjectResult, error) {
			mu.Lock()
			defer mu.Unlock()
			if failures < 5 {
				failures++
				return projection.ProjectResult{}, errors.New("dial tcp 127.0.0.1:5432: connection refused")
			}
			return projection.ProjectResult{Applied: true}, nil
		})
	s.wallets.install()
	s.env.ExecuteWorkflow(Escrow, input("order-11", escrow.EscrowInput{}))
	s.Require().NoError(s.env.GetWorkflowError())
	var res escrow.EscrowResult
	s.Require().NoError(s.env.GetWorkflowResult(&res))
	s.Equal(testAddress, res.Address)
	s.Equal(5, failures)
}

func TestInputValidation(t *testing.T) {
	good := input("ok", escrow.EscrowInput{})
	require.NoError(t, good.Validate())
	neg := -time.Second
	for name, mut := range map[string]func(*escrow.EscrowInput){
		"bad id":         func(in *escrow.EscrowInput) { in.EscrowID = "a/b" },
		"no order":       func(in *escrow.EscrowInput) { in.OrderID = "" },
		"no buyer":       func(in *escrow.EscrowInput) { in.BuyerID = "" },
		"no vendor":      func(in *escrow.EscrowInput) { in.VendorID = "" },
		"no arbiter":     func(in *escrow.EscrowInput) { in.ArbiterID = "" },
		"zero amount":    func(in *escrow.EscrowInput) { in.AmountAtomic = 0 },
		"negative delay": func(in *escrow.EscrowInput) { in.PurgeDelay = &neg },
		"bad address":    func(in *escrow.EscrowInput) { in.VendorPayoutAddress = vendorAddr[:94] + "7" },
		"no refund addr": func(in *escrow.EscrowInput) { in.BuyerRefundAddress = "" },
		"other network":  func(in *escrow.EscrowInput) { in.Network = "testnet" },
	} {
		in := good
		mut(&in)
		require.Error(t, in.Validate(), name)
	}
}

func TestNegativePurgeDelayIsRejected(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	neg := -time.Second
	env.ExecuteWorkflow(Escrow, input("order-9", escrow.EscrowInput{PurgeDelay: &neg}))
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	require.Equal(t, escrow.ErrTypeInvalidInput, appErr.Type())
}
