package workflows

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/activities/placement"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/moneroaddr"
)

// setupState is the multisig setup's own state. Only the setup writes it; afterwards the
// projection still reads wallets and infos, and a continue-as-new carries wallets so the next
// run's projection names them too, so it outlives the phase without another phase owning it.
type setupState struct {
	// leased is true when the instances came from the pool and must be given back.
	leased bool
	// delay is the purge wait between two rounds (EscrowInput.PurgeDelay).
	delay time.Duration
	// wallets and infos feed the projection: wallet names, latest key-exchange messages.
	wallets map[escrow.Role]string
	infos   map[escrow.Role]string
}

// runSetup runs create+prepare, the three rounds with the purge wait between them, and the
// final cross-check, returning the multisig address.
func (e *escrowFlow) runSetup(ctx workflow.Context) (string, error) {
	if err := e.assign(ctx); err != nil {
		return "", err
	}
	e.setPhase(ctx, escrow.PhasePreparing, 0)
	created, err := each(ctx, e, walletOptions(createTimeout), wallet.CreateWallet, e.walletInput)
	if err != nil {
		return "", err
	}
	for i, r := range escrow.Roles {
		e.setup.wallets[r] = created[i].Wallet
		e.result.WalletOpens += created[i].Opens
	}
	infos := e.setup.infos
	fewer := version(ctx, changeFewerSetupSteps, workflow.DefaultVersion, 1) >= 1
	if fewer {
		// CreateWallet returns the round-0 message itself.
		for i, r := range escrow.Roles {
			infos[r] = created[i].Info
		}
	} else {
		msgs, err := each(ctx, e, walletOptions(stepTimeout), wallet.PrepareMultisig, e.walletInput)
		if err != nil {
			return "", err
		}
		for i, r := range escrow.Roles {
			infos[r] = msgs[i].Info
			e.result.WalletOpens += msgs[i].Opens
		}
	}
	var last []activities.RoundResult
	for round := 1; round <= escrow.Rounds; round++ {
		if round > 1 && e.setup.delay > 0 {
			if err := workflow.Sleep(ctx, e.setup.delay); err != nil {
				return "", err
			}
		}
		e.setPhase(ctx, escrow.PhaseExchanging, round)
		roundStart := workflow.Now(ctx)
		step := wallet.ExchangeMultisigKeys
		if round == 1 {
			step = wallet.MakeMultisig
		}
		in := func(r escrow.Role) activities.RoundInput {
			return activities.RoundInput{EscrowID: e.in.EscrowID, Role: r, Round: round, Infos: othersOf(infos, r)}
		}
		res, err := each(ctx, e, walletOptions(stepTimeout), step, in)
		if err != nil {
			return "", err
		}
		workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"round": strconv.Itoa(round)}).
			Timer(escrow.MetricRoundDuration).Record(workflow.Now(ctx).Sub(roundStart))
		for i, r := range escrow.Roles {
			infos[r] = res[i].Info
			e.result.WalletOpens += res[i].Opens
			if res[i].Restored {
				e.result.Restores++
			}
		}
		last = res
	}
	return e.verify(ctx, last, fewer)
}

// changeFewerSetupSteps versions a setup with two steps fewer on its critical path:
// CreateWallet returns the round-0 message (no PrepareMultisig step), and the payout
// addresses are validated at the same time as the wallets are verified.
const changeFewerSetupSteps = "fewer-setup-steps"

// verify checks that all three wallets are finished 2-of-3 multisig wallets with one and
// the same address: the property the money will rely on. With together, the payout
// addresses are validated in the same round trip.
func (e *escrowFlow) verify(ctx workflow.Context, last []activities.RoundResult, together bool) (string, error) {
	var validations []workflow.Future
	if together {
		validations = e.validateAddresses(ctx)
	}
	vs, err := each(ctx, e, walletOptions(stepTimeout), wallet.VerifyMultisig, e.walletInput)
	if err != nil {
		return "", err
	}
	addr := vs[0].Address
	for i, r := range escrow.Roles {
		v := vs[i]
		e.result.WalletOpens += v.Opens
		switch {
		case !v.Multisig || !v.Ready:
			return "", setupError("%s wallet is not a finished multisig wallet (multisig=%t ready=%t)", r, v.Multisig, v.Ready)
		case v.Threshold != escrow.Threshold || v.Total != escrow.Total:
			return "", setupError("%s wallet is %d-of-%d, want %d-of-%d", r, v.Threshold, v.Total, escrow.Threshold, escrow.Total)
		case len(v.Address) != escrow.AddressLength:
			return "", setupError("%s wallet reports an address of %d characters, want %d", r, len(v.Address), escrow.AddressLength)
		case v.Address != addr:
			return "", setupError("%s wallet reports address %s, %s reports %s", r, v.Address, escrow.Roles[0], addr)
		case last[i].Address != "" && last[i].Address != addr:
			return "", setupError("%s wallet's last round gave address %s, now it reports %s", r, last[i].Address, v.Address)
		}
	}
	if !together && version(ctx, changeStrictInput, workflow.DefaultVersion, 1) < 1 {
		return addr, nil
	}
	if err := moneroaddr.Valid(addr, e.in.AddressNetwork()); err != nil {
		return "", setupError("the multisig address is not a %s address: %v", e.in.AddressNetwork(), err)
	}
	if together {
		return addr, e.checkValidations(ctx, validations)
	}
	// Older runs validated one address after the other.
	for _, a := range e.payoutAddresses() {
		var res activities.AddressResult
		req := activities.AddressInput{EscrowID: e.in.EscrowID, Role: escrow.Arbiter, Address: a}
		if err := workflow.ExecuteActivity(e.on(ctx, escrow.Arbiter, walletOptions(stepTimeout)), wallet.ValidateAddress, req).Get(ctx, &res); err != nil {
			return "", err
		}
		if !res.Valid {
			return "", setupError("the wallet-rpc refuses payout address %.12s… (network %q)", a, res.Nettype)
		}
	}
	return addr, nil
}

// payoutAddresses are the two addresses a payout may go to.
func (e *escrowFlow) payoutAddresses() []string {
	return []string{e.in.VendorPayoutAddress, e.in.BuyerRefundAddress}
}

// validateAddresses asks the wallet-rpc that will build the payout whether it accepts both
// payout addresses; the futures are read by checkValidations.
func (e *escrowFlow) validateAddresses(ctx workflow.Context) []workflow.Future {
	var out []workflow.Future
	for _, a := range e.payoutAddresses() {
		req := activities.AddressInput{EscrowID: e.in.EscrowID, Role: escrow.Arbiter, Address: a}
		out = append(out, workflow.ExecuteActivity(e.on(ctx, escrow.Arbiter, walletOptions(stepTimeout)), wallet.ValidateAddress, req))
	}
	return out
}

// checkValidations fails the setup if the wallet-rpc refused a payout address.
func (e *escrowFlow) checkValidations(ctx workflow.Context, fs []workflow.Future) error {
	for i, f := range fs {
		var res activities.AddressResult
		if err := f.Get(ctx, &res); err != nil {
			return err
		}
		if !res.Valid {
			return setupError("the wallet-rpc refuses payout address %.12s… (network %q)", e.payoutAddresses()[i], res.Nettype)
		}
	}
	return nil
}

// assign decides which wallet-rpc instance serves each role, once; the local activity's
// answer is in history, so a replay takes the same decision. When every instance is busy
// with another setup the escrow waits for capacity: sharing an instance between two setups
// would cost an open_wallet on most steps.
func (e *escrowFlow) assign(ctx workflow.Context) error {
	a := e.in.Assignment
	if !a.Complete() {
		since := workflow.Now(ctx)
		var err error
		if version(ctx, changeDurableCapacityWait, workflow.DefaultVersion, 1) >= 1 {
			a, err = e.leaseDurably(ctx, since)
		} else {
			// Older runs waited inside the local activity's retries, which kept a workflow
			// task open for as long as the wait lasted.
			lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
				StartToCloseTimeout:    10 * time.Second,
				ScheduleToCloseTimeout: capacityWait,
				RetryPolicy: &temporal.RetryPolicy{
					InitialInterval:        250 * time.Millisecond,
					BackoffCoefficient:     1.5,
					MaximumInterval:        2 * time.Second,
					NonRetryableErrorTypes: []string{escrow.ErrTypeInvalidInput},
				},
			})
			err = workflow.ExecuteLocalActivity(lctx, pool.AssignWalletRPCs, placement.AssignInput{EscrowID: e.in.EscrowID}).Get(ctx, &a)
		}
		if err != nil {
			return fmt.Errorf("assign wallet-rpc instances: %w", err)
		}
		e.setup.leased = true
		workflow.GetLogger(ctx).Info("wallet-rpc instances leased", "waited", workflow.Now(ctx).Sub(since).String())
		if version(ctx, changeLeaseRecord, workflow.DefaultVersion, 1) >= 1 {
			// Recorded where visibility can find it: a restarted worker rebuilds its
			// leases from the escrows still in setup (worker/leases.go).
			if err := workflow.UpsertTypedSearchAttributes(ctx, escrow.SearchAttrInstances.ValueSet([]string{a.Buyer, a.Vendor, a.Arbiter})); err != nil {
				workflow.GetLogger(ctx).Warn("upsert leased instances", "error", err)
			}
		}
	}
	if !a.Complete() {
		return setupError("incomplete wallet-rpc assignment %+v", a)
	}
	e.status.Assignment = a
	e.result.Assignment = a
	workflow.GetLogger(ctx).Info("wallet-rpc instances assigned", "buyer", a.Buyer, "vendor", a.Vendor, "arbiter", a.Arbiter)
	return nil
}

// changeLeaseRecord versions the EscrowInstances search attribute written at assignment.
const changeLeaseRecord = "lease-record"

// changeDurableCapacityWait versions the wait for idle wallet-rpc instances: a durable
// timer between short lease attempts instead of a local activity retried for hours.
const changeDurableCapacityWait = "durable-capacity-wait"

// leaseDurably asks the pool once per turn; when every instance is busy it waits on a
// durable timer (visible in history, 1 s doubling to 30 s), so no workflow task stays open
// while it waits, and a worker restart loses nothing.
func (e *escrowFlow) leaseDurably(ctx workflow.Context, since time.Time) (escrow.Assignment, error) {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			MaximumAttempts:        3,
			NonRetryableErrorTypes: []string{escrow.ErrTypeInvalidInput, escrow.ErrTypeNoCapacity},
		},
	})
	wait := time.Second
	for {
		var a escrow.Assignment
		err := workflow.ExecuteLocalActivity(lctx, pool.AssignWalletRPCs, placement.AssignInput{EscrowID: e.in.EscrowID}).Get(ctx, &a)
		if err == nil || isType(err, escrow.ErrTypeInvalidInput) {
			return a, err
		}
		if workflow.Now(ctx).Sub(since) >= capacityWait {
			return a, fmt.Errorf("no wallet-rpc capacity for %s: %w", capacityWait, err)
		}
		if wait == time.Second || wait == 30*time.Second {
			workflow.GetLogger(ctx).Info("waiting for idle wallet-rpc instances", "waited", workflow.Now(ctx).Sub(since).String(), "reason", failureReason(err))
		}
		if err := waitForCapacity(ctx, wait); err != nil {
			return a, err
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// changeLeaseReturned schedules the end of a setup's leases as ReturnInstance. Runs from
// before it schedule ReleaseInstance, the same step under the name that made "release" mean
// both a payout and a lease in the history operators read; the worker registers both.
const changeLeaseReturned = "lease-returned"

// returnInstances gives the leased instances back to the pool, on each instance's own queue
// so it reaches the process that owns it. It runs even when the setup failed or was
// cancelled; a return that cannot be delivered is left to the lease's expiry.
func (e *escrowFlow) returnInstances(ctx workflow.Context) {
	if !e.setup.leased {
		return
	}
	ctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	opts := workflow.ActivityOptions{
		ScheduleToCloseTimeout: time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 3},
	}
	step := wallet.ReturnInstance
	if version(ctx, changeLeaseReturned, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		step = wallet.ReleaseInstance
	}
	if _, err := each(ctx, e, opts, step, e.walletInput); err != nil {
		workflow.GetLogger(ctx).Warn("return wallet-rpc instances; their leases will expire", "error", err)
	}
}

func (e *escrowFlow) walletInput(r escrow.Role) activities.WalletInput {
	return activities.WalletInput{EscrowID: e.in.EscrowID, Role: r}
}

// othersOf returns the messages of the two roles other than r, in the fixed role order.
func othersOf(infos map[escrow.Role]string, r escrow.Role) []string {
	out := make([]string, 0, 2)
	for _, o := range r.Others() {
		out = append(out, infos[o])
	}
	return out
}

func setupError(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return temporal.NewNonRetryableApplicationError(msg, escrow.ErrTypeSetupFailed, nil)
}

// failureReason digs the innermost application error's message out of an activity failure,
// which is what an operator needs to read.
func failureReason(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}
