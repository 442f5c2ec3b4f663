package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// fakeMoney answers the funding and payout steps like honest wallets on a chain would.
type fakeMoney struct {
	s  *EscrowSuite
	mu sync.Mutex
	// paid returns what the buyer has paid by the n-th funding check (1-based).
	paid                  func(check int) (confirmed, pending uint64)
	checks                int
	staleSigns            int // the first n signs find the multisig state stale
	lockedChecks          int // the first n balance checks see nothing unlocked yet
	balanceChecks         int
	addressValid          bool
	confirmationsPerCheck uint64
	confirmations         uint64
	steps                 []string
	signed                []activities.SignPayoutInput

	// The faults of the parking tests.
	submitOutages int    // the first n submits find the daemon down (retryable)
	feeCapNeeded  uint64 // the co-signer refuses while the fee cap is below this
	vanishes      int    // the first n submitted payouts vanish from the pool
	vanished      map[string]bool
	forgotten     map[string]bool // payouts the wallet no longer knows

	// The faults of the exact-shares tests.
	lostReplies  int                // the first n submits relay the set but lose the reply
	statusErrors int                // the first n payout status checks fail
	minedAnyway  int                // the first n vanished sets are mined after all: the money stays gone
	shortChecks  int                // the first n holdings checks see half the money (a reorg took the payment)
	dust         *escrow.Dust       // dust at the address, which no payout spends
	arriving     bool               // new payments keep confirming: something is always locked
	lateAt       time.Time          // the late money arrives at this test-clock time (zero: with the payout)
	fork         escrow.ForkOutlook // what the worker knows of the next hard fork (zero: nothing)
	creates      []activities.PayoutInput
	late         uint64 // arrives at the address once the first payout is submitted
	submits      int
	unopenable   int // the first n exports find a wallet that will not open (a redeploy's wrong secret)
	// failChecks funding checks fail from the failChecksFrom-th on (1-based).
	failChecksFrom, failChecks int
	swept                      uint64 // what submitted payouts took from the address
	lastFunded                 uint64
	submittedAt                time.Time // test-clock time of the last submit
	exports                    int
	looks                      []holdingsLook      // every SpendableBalance, in order
	staleImportsInto           map[escrow.Role]int // the first n imports into a role find stale data
}

// holdingsLook is one SpendableBalance: its input, how many exports had run before it, and
// whether any payout had been submitted.
type holdingsLook struct {
	in           activities.WalletInput
	afterExports int
	afterSubmit  bool
}

// lateNow is the late money visible at the address now: once the first payout is out, and
// lateAt (if set) has come.
func (m *fakeMoney) lateNow() uint64 {
	if m.submits > 0 && (m.lateAt.IsZero() || !m.s.env.Now().Before(m.lateAt)) {
		return m.late
	}
	return 0
}

const fee = 30_000_000

// dustBelow is the fake wallets' dust threshold: what one more input costs.
const dustBelow = 40_000_000

func (m *fakeMoney) step(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.steps = append(m.steps, fmt.Sprintf(format, args...))
}

func (m *fakeMoney) install(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(chain.ForkOutlook, mock.Anything).Return(
		func(context.Context) (escrow.ForkOutlook, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.fork, nil
		}).Maybe()
	env.OnActivity(wallet.CheckFunding, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FundingInput) (activities.FundingResult, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.paid == nil {
				return activities.FundingResult{}, nil
			}
			m.checks++
			if m.failChecks > 0 && m.checks >= m.failChecksFrom {
				m.failChecks--
				return activities.FundingResult{}, errors.New("get_transfers: connection refused")
			}
			c, p := m.paid(m.checks)
			return activities.FundingResult{ConfirmedAtomic: c + m.lateNow(), PendingAtomic: p}, nil
		}).Maybe()
	env.OnActivity(wallet.SpendableBalance, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.WalletInput) (activities.BalanceResult, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			c, p := m.paidNow()
			held := c + p + m.lateNow() - m.swept
			dust := &escrow.Dust{BelowAtomic: dustBelow}
			if m.dust != nil {
				dust = m.dust
			}
			m.balanceChecks++
			m.looks = append(m.looks, holdingsLook{in: in, afterExports: m.exports, afterSubmit: m.submits > 0})
			if m.balanceChecks <= m.shortChecks {
				held /= 2
			}
			if m.balanceChecks <= m.lockedChecks {
				return activities.BalanceResult{TotalAtomic: held, Holdings: activities.Holdings{LockedAtomic: held, Dust: dust}}, nil
			}
			h := activities.Holdings{SpendableAtomic: held, SpendableOutputs: 1, Dust: dust}
			if m.arriving {
				h.LockedAtomic = 1_000_000_000
			}
			return activities.BalanceResult{UnlockedAtomic: held, TotalAtomic: held, Holdings: h}, nil
		}).Maybe()
	env.OnActivity(wallet.ExportMultisigInfo, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.WalletInput) (activities.MultisigMessage, error) {
			m.step("export:%s on %s", in.Role, activity.GetInfo(ctx).TaskQueue)
			m.mu.Lock()
			defer m.mu.Unlock()
			m.exports++
			if m.unopenable > 0 {
				m.unopenable--
				return activities.MultisigMessage{}, temporal.NewNonRetryableApplicationError(
					"open wallet: rpc error -1: invalid password", escrow.ErrTypeWalletRejected, nil)
			}
			return activities.MultisigMessage{Info: "export-of-" + string(in.Role)}, nil
		}).Maybe()
	env.OnActivity(wallet.ImportMultisigInfo, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ImportInput) (activities.ImportResult, error) {
			m.step("import:%s<-%s", in.Role, in.Infos[0])
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.staleImportsInto[in.Role] > 0 {
				m.staleImportsInto[in.Role]--
				return activities.ImportResult{}, temporal.NewNonRetryableApplicationError("import: stale multisig info", escrow.ErrTypeStale, nil)
			}
			return activities.ImportResult{Outputs: 1}, nil
		}).Maybe()
	env.OnActivity(wallet.CreatePayout, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PayoutInput) (activities.CreatePayoutResult, error) {
			m.step("create:%s", in.Role)
			m.mu.Lock()
			m.creates = append(m.creates, in)
			m.mu.Unlock()
			return activities.CreatePayoutResult{Txset: "txset-to-" + in.Address}, nil
		}).Maybe()
	env.OnActivity(wallet.SignPayout, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SignPayoutInput) (activities.SignPayoutResult, error) {
			m.step("sign:%s", in.Role)
			m.mu.Lock()
			defer m.mu.Unlock()
			m.signed = append(m.signed, in)
			if m.staleSigns > 0 {
				m.staleSigns--
				return activities.SignPayoutResult{}, temporal.NewNonRetryableApplicationError("stale", escrow.ErrTypeStale, nil)
			}
			if in.MaxFeeAtomic < m.feeCapNeeded {
				return activities.SignPayoutResult{}, temporal.NewNonRetryableApplicationError("refusing to sign: fee above the cap", escrow.ErrTypePayoutRejected, nil)
			}
			m.lastFunded = in.FundedAtomic
			hash := fmt.Sprintf("hash-%d", m.submits+1)
			out := activities.SignPayoutResult{SignedTx: "signed", TxHash: hash, AmountAtomic: in.FundedAtomic - fee, FeeAtomic: fee}
			if in.Division != nil { // the co-signer's rule: every share exact, or nothing signed
				shares, err := in.Division.Divide(in.FundedAtomic, fee)
				if err != nil {
					return activities.SignPayoutResult{}, temporal.NewNonRetryableApplicationError("refusing to sign: "+err.Error(), escrow.ErrTypePayoutRejected, nil)
				}
				out.Shares = shares
			}
			return out, nil
		}).Maybe()
	env.OnActivity(wallet.SubmitPayout, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SubmitInput) (activities.TxStatusResult, error) {
			m.step("submit:%s", in.Role)
			m.mu.Lock()
			defer m.mu.Unlock()
			m.submittedAt = m.s.env.Now()
			if m.submitOutages > 0 {
				m.submitOutages--
				return activities.TxStatusResult{}, errors.New("submit_multisig: -36 no connection to daemon")
			}
			m.submits++
			m.swept += m.lastFunded
			m.confirmations = 0
			if m.lostReplies > 0 {
				m.lostReplies--
				return activities.TxStatusResult{}, temporal.NewNonRetryableApplicationError("submit_multisig: reply lost", escrow.ErrTypeWalletRejected, nil)
			}
			return activities.TxStatusResult{Known: true}, nil
		}).Maybe()
	env.OnActivity(wallet.PayoutStatus, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.TxStatusInput) (activities.TxStatusResult, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.statusErrors > 0 {
				m.statusErrors--
				return activities.TxStatusResult{}, errors.New("get_transfer_by_txid: connection refused")
			}
			if m.vanished[in.TxHash] {
				return activities.TxStatusResult{Known: true, Failed: true}, nil
			}
			if m.forgotten[in.TxHash] {
				return activities.TxStatusResult{}, nil // a reorg took it, and the wallet forgot it
			}
			if m.vanishes > 0 && m.submits > 0 && m.minedAnyway > 0 {
				// The wallet calls it failed once; it was mined after all, the money stays gone.
				m.vanishes--
				m.minedAnyway--
				return activities.TxStatusResult{Known: true, Failed: true}, nil
			}
			if m.vanishes > 0 && m.submits > 0 {
				m.vanishes--
				m.swept -= m.lastFunded // dropped from the pool: the money is back
				if m.vanished == nil {
					m.vanished = map[string]bool{}
				}
				m.vanished[in.TxHash] = true
				return activities.TxStatusResult{Known: true, Failed: true}, nil
			}
			if m.submits == 0 {
				return activities.TxStatusResult{}, nil // never sent: the wallet does not know it
			}
			m.confirmations += m.confirmationsPerCheck
			return activities.TxStatusResult{Known: true, Confirmations: m.confirmations}, nil
		}).Maybe()
	env.OnActivity(wallet.ValidateAddress, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.AddressInput) (activities.AddressResult, error) {
			// The escrow's own payout addresses pass; a new one passes if addressValid says so.
			return activities.AddressResult{Valid: m.addressValid || in.Address == vendorAddr || in.Address == buyerAddr}, nil
		}).Maybe()
}

func (m *fakeMoney) paidNow() (uint64, uint64) {
	if m.paid == nil {
		return 0, 0
	}
	return m.paid(m.checks)
}

const price = 1_500_000_000_000

// payAt makes the buyer's full payment visible from the n-th check on.
func payAt(n int, amount uint64) func(int) (uint64, uint64) {
	return func(check int) (uint64, uint64) {
		if check >= n {
			return amount, 0
		}
		return 0, 0
	}
}

// decide sends a decision at the given (test-clock) time and records how it went.
type outcome struct {
	accepted, rejected bool
	err                error
	state              escrow.State
}

func (s *EscrowSuite) decide(at time.Duration, name escrow.UpdateName, in escrow.DecisionInput) *outcome {
	return s.update(at, name, in)
}

// update sends any update (with its input, if it takes one) at the given test-clock time and
// records its outcome.
func (s *EscrowSuite) update(at time.Duration, name escrow.UpdateName, in ...any) *outcome {
	o := &outcome{}
	s.updates++
	id := fmt.Sprintf("%s-%d", name, s.updates)
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(string(name), id, &testsuite.TestUpdateCallback{
			OnAccept: func() { o.accepted = true },
			OnReject: func(err error) { o.rejected, o.err = true, err },
			OnComplete: func(v interface{}, err error) {
				o.err = err
				if st, ok := v.(escrow.State); ok {
					o.state = st
				}
			},
		}, in...)
	}, at)
	return o
}

var (
	asBuyer   = escrow.DecisionInput{Role: escrow.Buyer, ActorID: "u-buyer"}
	asVendor  = escrow.DecisionInput{Role: escrow.Vendor, ActorID: "u-vendor"}
	asArbiter = escrow.DecisionInput{Role: escrow.Arbiter, ActorID: "u-arbiter"}
)

func with(in escrow.DecisionInput, f func(*escrow.DecisionInput)) escrow.DecisionInput {
	f(&in)
	return in
}

// runLifecycle runs an escrow that the buyer pays at the third check.
func (s *EscrowSuite) runLifecycle(id string, in escrow.EscrowInput) (escrow.EscrowResult, escrow.State) {
	if s.money.paid == nil {
		s.money.paid = payAt(3, price)
	}
	s.wallets.install()
	s.env.ExecuteWorkflow(Escrow, input(id, in))
	s.Require().True(s.env.IsWorkflowCompleted())
	var res escrow.EscrowResult
	if err := s.env.GetWorkflowError(); err == nil {
		s.Require().NoError(s.env.GetWorkflowResult(&res))
	}
	return res, s.status()
}

func (s *EscrowSuite) assertPaid(st escrow.State, kind escrow.PayoutKind, signers ...escrow.Role) {
	s.Require().NotNil(st.Payout)
	s.Equal(kind, st.Payout.Kind)
	s.Equal(signers, st.Payout.Signers)
	want := vendorAddr
	if kind == escrow.PayoutRefund {
		want = buyerAddr
	}
	s.Equal(want, st.Payout.Address)
	s.True(st.Payout.Submitted)
	s.Equal("hash-1", st.Payout.TxHash)
	s.GreaterOrEqual(st.Payout.Confirmations, uint64(10))
	s.Equal(uint64(price-fee), st.Payout.AmountAtomic)
	s.Contains(s.money.steps, "create:"+string(signers[0]))
	s.Contains(s.money.steps, "submit:"+string(signers[1]))
	s.Contains(s.money.steps, fmt.Sprintf("import:%s<-export-of-%s", signers[1], signers[0]))
	for _, in := range s.money.signed {
		s.Equal(want, in.Address, "the signer checks the decided address")
		s.Equal(uint64(price), in.FundedAtomic)
	}
}
