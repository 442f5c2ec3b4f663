package activities

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/xmr-escrow/xmr-escrow/activities/internal/fakeplacer"
	"github.com/xmr-escrow/xmr-escrow/activities/placement"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/logging"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// benign reports what the SDK's worker checks before it logs an activity's error at debug
// and leaves it out of the failure metrics: the category of err's ApplicationError (the
// worker looks at the returned error itself; through the test environment the category
// arrives after a round trip through the failure converter, as the workflow sees it).
func benign(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Category() == temporal.ApplicationErrorCategoryBenign
}

// requireTopBenign fails unless err itself (not a wrapped one) is a benign ApplicationError
// of type typ, as the worker requires; it returns it.
func requireTopBenign(t *testing.T, err error, typ string) *temporal.ApplicationError {
	t.Helper()
	appErr, ok := err.(*temporal.ApplicationError)
	require.True(t, ok, "want an ApplicationError at the top, got %T: %v", err, err)
	assert.Equal(t, typ, appErr.Type())
	assert.Equal(t, temporal.ApplicationErrorCategoryBenign, appErr.Category(), "an expected wait must be benign: %v", err)
	return appErr
}

// observeSDKLogs gives tw a fresh activity environment whose SDK logger is the product's zap
// adapter over an observer at debug level, so a test sees the level of each line.
func observeSDKLogs(tw *testWallet) *observer.ObservedLogs {
	core, logs := observer.New(zapcore.DebugLevel)
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(logging.NewTemporal(zap.New(core)))
	tw.env = suite.NewTestActivityEnvironment()
	tw.env.RegisterActivity(tw.w)
	return logs
}

// activityErrorLevels returns the levels of the SDK's "Activity error." lines.
func activityErrorLevels(logs *observer.ObservedLogs) []zapcore.Level {
	var levels []zapcore.Level
	for _, e := range logs.FilterMessage("Activity error.").All() {
		levels = append(levels, e.Level)
	}
	return levels
}

// A step that stands back for a setup is benign, with its type and pause unchanged: a poll
// retries after pollYieldDelay, a payout step after payoutYieldDelay.
func TestStandingBackForASetupIsAnExpectedWait(t *testing.T) {
	tw, _ := leasedTestWallet(t, "setup")
	err := tw.exec(tw.w.CheckFunding, FundingInput{EscrowID: "awaiting", Role: escrow.Arbiter}, &FundingResult{})
	appErr := appError(t, err)
	assert.True(t, benign(err))
	assert.Equal(t, escrow.ErrTypeInstanceBusy, appErr.Type())
	assert.Equal(t, pollYieldDelay, appErr.NextRetryDelay())
	assert.False(t, appErr.NonRetryable())

	tw = newTestWallet(t)
	pool, err := placement.New([]string{"fake"})
	require.NoError(t, err)
	pool.Share(&fakeplacer.Placer{Holder: "setup"}, placement.DefaultLeaseTTL)
	tw.w.pool = pool
	err = tw.exec(tw.w.SignPayout, SignPayoutInput{EscrowID: "paying", Role: escrow.Vendor}, &SignPayoutResult{})
	appErr = appError(t, err)
	assert.True(t, benign(err))
	assert.Equal(t, escrow.ErrTypeInstanceBusy, appErr.Type())
	assert.Equal(t, payoutYieldDelay, appErr.NextRetryDelay())
	assert.False(t, appErr.NonRetryable())
}

// The worker's own activity task handler (which the test environment runs) logs a step that
// stands back at debug, not error; a step whose wallet-rpc answers garbage is still an
// error line.
func TestAStepThatStandsBackLogsNoErrorLine(t *testing.T) {
	tw, pool := leasedTestWallet(t, "setup")
	logs := observeSDKLogs(tw)
	for range 3 {
		require.Error(t, tw.exec(tw.w.CheckFunding, FundingInput{EscrowID: "awaiting", Role: escrow.Arbiter}, &FundingResult{}))
	}
	assert.Equal(t, []zapcore.Level{zapcore.DebugLevel, zapcore.DebugLevel, zapcore.DebugLevel}, activityErrorLevels(logs))
	assert.Zero(t, logs.FilterLevelExact(zapcore.ErrorLevel).Len(), "no error line for an expected wait: %v", logs.All())

	require.True(t, pool.Return("fake", "setup"))
	tw.fake.answer(walletrpc.MethodGetHeight, "garbage")
	err := tw.exec(tw.w.CheckFunding, FundingInput{EscrowID: "awaiting", Role: escrow.Arbiter}, &FundingResult{})
	require.Error(t, err)
	assert.False(t, benign(err))
	assert.Equal(t, zapcore.ErrorLevel, activityErrorLevels(logs)[3], "a garbage answer is a failure")
}

// A setup that finds every instance busy with other setups waits benignly; one that finds
// an instance down, or no live instance at all, is a failure an operator should count.
func TestASetupWaitingForBusyInstancesIsAnExpectedWait(t *testing.T) {
	pool, err := placement.New([]string{"only"})
	require.NoError(t, err)
	_, err = pool.AssignWalletRPCs(t.Context(), placement.AssignInput{EscrowID: "first"})
	require.NoError(t, err)
	_, err = pool.AssignWalletRPCs(t.Context(), placement.AssignInput{EscrowID: "second"})
	appErr := requireTopBenign(t, err, escrow.ErrTypeNoCapacity)
	assert.False(t, appErr.NonRetryable())
	assert.Zero(t, appErr.NextRetryDelay(), "the workflow's durable timer paces it, as before")

	down, err := placement.New([]string{"dead"})
	require.NoError(t, err)
	down.SetHealth(func(string) bool { return false })
	_, err = down.AssignWalletRPCs(t.Context(), placement.AssignInput{EscrowID: "second"})
	assert.Equal(t, escrow.ErrTypeNoCapacity, appError(t, err).Type())
	assert.False(t, benign(err), "a dead wallet-rpc is no expected wait")

	shared, err := placement.New([]string{"local"})
	require.NoError(t, err)
	f := &fakeplacer.Placer{}
	shared.Share(f, time.Minute)
	_, err = shared.AssignWalletRPCs(t.Context(), placement.AssignInput{EscrowID: "second"})
	requireTopBenign(t, err, escrow.ErrTypeNoCapacity)
	f.Err = fmt.Errorf("place: %w", store.ErrNoInstances)
	_, err = shared.AssignWalletRPCs(t.Context(), placement.AssignInput{EscrowID: "second"})
	assert.Equal(t, escrow.ErrTypeNoCapacity, appError(t, err).Type())
	assert.False(t, benign(err), "no live instance at all is no expected wait")
}

// A sweep that finds its funds locked or not yet imported is benign, still a non-retryable
// MultisigStale that the workflow answers with a sync.
func TestAPayoutWaitingForLockedFundsIsAnExpectedWait(t *testing.T) {
	tw := newTestWallet(t)
	tw.fake.fail(walletrpc.MethodSweepAll, walletrpc.CodeGenericTransferError, "No unlocked balance in the specified account")
	err := tw.exec(tw.w.CreatePayout, PayoutInput{EscrowID: testEscrowID, Role: escrow.Arbiter, Address: payee}, &CreatePayoutResult{})
	appErr := appError(t, err)
	assert.True(t, benign(err))
	assert.Equal(t, escrow.ErrTypeStale, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	assert.Zero(t, appErr.NextRetryDelay())
}

// -37 "not enough unlocked money" stays what it was, a retryable error of the type Temporal
// gives a plain wrapped Go error, with the wallet's error as its cause; only benign now.
func TestNotEnoughUnlockedMoneyKeepsItsTypeAndIsBenign(t *testing.T) {
	raw := fmt.Errorf("create payout on w: %w", &walletrpc.RPCError{Code: walletrpc.CodeNotEnoughUnlockedMoney, Message: "not enough unlocked money"})
	before := temporal.GetDefaultFailureConverter().ErrorToFailure(raw)
	got := classifyPayout(raw)
	appErr := requireTopBenign(t, got, before.GetApplicationFailureInfo().GetType())
	assert.Equal(t, "wrapError", appErr.Type(), "the type the workflow saw before")
	assert.False(t, appErr.NonRetryable())
	assert.Zero(t, appErr.NextRetryDelay(), "paced by the step's retry policy, as before")
	code, ok := walletrpc.Code(got)
	assert.True(t, ok && code == walletrpc.CodeNotEnoughUnlockedMoney, "the wallet's error is still the cause")
	after := temporal.GetDefaultFailureConverter().ErrorToFailure(got)
	assert.Equal(t, before.GetMessage(), after.GetMessage())
	assert.Equal(t, before.GetCause().GetApplicationFailureInfo().GetType(), after.GetCause().GetApplicationFailureInfo().GetType())

	tw := newTestWallet(t)
	tw.fake.fail(walletrpc.MethodSweepAll, walletrpc.CodeNotEnoughUnlockedMoney, "not enough unlocked money")
	err := tw.exec(tw.w.CreatePayout, PayoutInput{EscrowID: testEscrowID, Role: escrow.Arbiter, Address: payee}, &CreatePayoutResult{})
	assert.True(t, benign(err))
	requireRetryable(t, err)
	assert.Equal(t, "wrapError", appError(t, err).Type())
}

// More spendable money than the holdings check saw (outputs unlocked or synced since) is a
// benign stale build; less is not: something spent the escrow's money or took it back.
func TestSpendableMoneyThatGrewIsAnExpectedWaitButLessIsNot(t *testing.T) {
	build := func(spendable uint64) error {
		tw := newTestWallet(t)
		tw.fake.outputs(walletrpc.Output{Amount: 900, KeyImage: "big", Unlocked: true})
		in := PayoutInput{EscrowID: testEscrowID, Role: escrow.Buyer, SpendableAtomic: spendable, DustBelowAtomic: 10,
			Destinations: []escrow.Share{{Address: vendorTo, AmountAtomic: spendable}}}
		return tw.exec(tw.w.CreatePayout, in, &CreatePayoutResult{})
	}
	err := build(800)
	assert.Equal(t, escrow.ErrTypeStale, appError(t, err).Type())
	assert.True(t, appError(t, err).NonRetryable())
	assert.True(t, benign(err), "900 spendable where 800 were: an output unlocked since")

	err = build(1000)
	assert.Equal(t, escrow.ErrTypeStale, appError(t, err).Type())
	assert.False(t, benign(err), "money gone since the check is worth an error line")
}

// Real failures stay errors: wallet-rpc down, garbage answers, tampered or rejected data.
func TestRealFailuresAreNotBenign(t *testing.T) {
	for name, c := range map[string]struct {
		method string
		fail   func(f *fakeRPC, method string)
	}{
		"wallet-rpc down": {walletrpc.MethodSweepAll, func(f *fakeRPC, m string) {
			f.handle(m, func(json.RawMessage) (any, error) { return nil, httpStatus(503) })
		}},
		"garbage answer": {walletrpc.MethodSweepAll, func(f *fakeRPC, m string) { f.answer(m, "garbage") }},
		"tampered txset": {walletrpc.MethodSweepAll, func(f *fakeRPC, m string) {
			f.fail(m, walletrpc.CodeBadMultisigTxData, "Failed to parse multisig tx data")
		}},
		"daemon gone": {walletrpc.MethodSweepAll, func(f *fakeRPC, m string) {
			f.fail(m, walletrpc.CodeNoDaemonConnection, "No connection to daemon")
		}},
		"wallet refuses": {walletrpc.MethodSweepAll, func(f *fakeRPC, m string) { f.fail(m, walletrpc.CodeDisabled, "multisig is disabled") }},
	} {
		t.Run(name, func(t *testing.T) {
			tw := newTestWallet(t)
			c.fail(tw.fake, c.method)
			err := tw.exec(tw.w.CreatePayout, PayoutInput{EscrowID: testEscrowID, Role: escrow.Arbiter, Address: payee}, &CreatePayoutResult{})
			require.Error(t, err)
			assert.False(t, benign(err), "%v", err)
		})
	}
}

// surfaceAppError lifts a wrapped expected wait to the top without losing its category or
// its pause, so the worker still sees it benign.
func TestAWrappedExpectedWaitStaysBenign(t *testing.T) {
	wait := expectedWait("busy", escrow.ErrTypeInstanceBusy, temporal.ApplicationErrorOptions{NextRetryDelay: time.Second})
	got := classify(fmt.Errorf("check funding of w: %w", wait))
	appErr := requireTopBenign(t, got, escrow.ErrTypeInstanceBusy)
	assert.Equal(t, time.Second, appErr.NextRetryDelay())
	assert.Equal(t, "check funding of w: busy", appErr.Message())
}
