package escrow

import (
	"fmt"
	"time"

	"github.com/xmr-escrow/xmr-escrow/moneroaddr"
)

// WorkflowType is the escrow workflow's registered name: a client starts it by this name,
// so it needs none of the worker's code.
const WorkflowType = "Escrow"

// DefaultPurgeDelay is the wait between key-exchange rounds when an escrow names none; the
// predecessor slept this long to let wallet caches settle.
const DefaultPurgeDelay = 10 * time.Second

// EscrowInput starts one  Add fields, never change them: running workflows decode it.
type EscrowInput struct {
	EscrowID string `json:"escrow_id"`
	Order
	// Network of the payout addresses: mainnet (default; also regtest), testnet, stagenet.
	Network string `json:"network,omitempty"`
	// PurgeDelay is the durable wait between rounds; nil means DefaultPurgeDelay, 0 none.
	PurgeDelay *time.Duration `json:"purge_delay,omitempty"`
	// Assignment pins roles to wallet-rpc instances (for example a participant's own);
	// empty means the worker's pool decides.
	Assignment Assignment `json:"assignment,omitempty"`
	// Timing overrides the lifecycle's waits; zero fields take the defaults.
	Timing Timing `json:"timing,omitempty"`
	// Resume carries a running escrow across continue-as-new; never set it yourself.
	Resume *Checkpoint `json:"resume,omitempty"`
}

// Timing holds the lifecycle's waits and thresholds. Zero means the default.
type Timing struct {
	// FundingConfirmations is how deep the buyer's payment must be (default 10).
	FundingConfirmations uint64 `json:"funding_confirmations,omitempty"`
	// FundingPoll is the first wait between funding checks (default 30 s); it doubles while
	// nothing arrives, up to FundingPollMax (default 10 min), and drops back when a payment
	// is seen.
	FundingPoll    time.Duration `json:"funding_poll,omitempty"`
	FundingPollMax time.Duration `json:"funding_poll_max,omitempty"`
	// FundingWatchedPollMax replaces FundingPollMax while the block watcher watches the
	// address: its signal brings the payment, so the poll is only a safety net (default
	// DefaultFundingSafetyNet, or FundingPollMax when that is set, so a caller that asked for
	// quick polls keeps them).
	FundingWatchedPollMax time.Duration `json:"funding_watched_poll_max,omitempty"`
	// FundingDeadline cancels an escrow not funded in time (default 24 h).
	FundingDeadline time.Duration `json:"funding_deadline,omitempty"`
	// AutoRelease releases to the vendor this long after shipment unless the buyer
	// confirms or disputes (default 14 days).
	AutoRelease time.Duration `json:"auto_release,omitempty"`
	// DisputeEscalation flags a dispute the arbiter has not resolved (default 7 days).
	DisputeEscalation time.Duration `json:"dispute_escalation,omitempty"`
	// PayoutConfirmations is how deep the payout must be to finish (default 10).
	PayoutConfirmations uint64 `json:"payout_confirmations,omitempty"`
	// PayoutPoll is the wait between payout confirmation checks (default 30 s).
	PayoutPoll time.Duration `json:"payout_poll,omitempty"`
	// PayoutWatchedPoll replaces PayoutPoll while the block watcher follows the payout's
	// transactions (default DefaultPayoutSafetyNet, or PayoutPoll when that is set).
	PayoutWatchedPoll time.Duration `json:"payout_watched_poll,omitempty"`
	// HistoryLimit continues the run as new past this many events (default 10000).
	HistoryLimit int `json:"history_limit,omitempty"`
	// UnlockWait bounds the payout's wait for everything confirmed to become spendable
	// (default 2 h); past it the payout parks as payout_blocked and keeps waiting.
	UnlockWait time.Duration `json:"unlock_wait,omitempty"`
	// SettleWait bounds how long a payout (ExactShares) waits for money still confirming or
	// unlocking to join it (default 30 min, 15 blocks): past it, it pays what was decided
	// from what is spendable, and the rest is late money. New payments every few blocks
	// cannot hold it up for ever.
	SettleWait time.Duration `json:"settle_wait,omitempty"`
	// PayoutRetry is the first wait of a parked payout (default 1 min); it doubles with each
	// retry up to PayoutRetryMax (default 1 h).
	PayoutRetry    time.Duration `json:"payout_retry,omitempty"`
	PayoutRetryMax time.Duration `json:"payout_retry_max,omitempty"`
	// LateMoneyGrace is how long a finished escrow keeps watching its address and refunds
	// what arrives (default 7 days).
	LateMoneyGrace time.Duration `json:"late_money_grace,omitempty"`
	// LatePoll is the first wait between late-money checks (default 1 min); it doubles up to
	// LatePollMax (default 6 h), so a week of watching costs a few dozen checks.
	LatePoll    time.Duration `json:"late_poll,omitempty"`
	LatePollMax time.Duration `json:"late_poll_max,omitempty"`
	// LateWatchedPollMax replaces LatePollMax while the block watcher watches the address
	// during the grace period: its signal brings the late money, so the poll is only a safety
	// net (default DefaultLateSafetyNet, or LatePollMax when that is set, so a caller that
	// asked for quick polls keeps them).
	LateWatchedPollMax time.Duration `json:"late_watched_poll_max,omitempty"`
}

// WithDefaults returns t with every zero field set to its default.
func (t Timing) WithDefaults() Timing {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&t.FundingPoll, 30*time.Second)
	if t.FundingWatchedPollMax <= 0 && t.FundingPollMax > 0 {
		t.FundingWatchedPollMax = t.FundingPollMax // who asked for quick polls keeps them
	}
	def(&t.FundingWatchedPollMax, DefaultFundingSafetyNet)
	def(&t.FundingPollMax, 10*time.Minute)
	def(&t.FundingDeadline, 24*time.Hour)
	def(&t.AutoRelease, 14*24*time.Hour)
	def(&t.DisputeEscalation, 7*24*time.Hour)
	if t.PayoutWatchedPoll <= 0 && t.PayoutPoll > 0 {
		t.PayoutWatchedPoll = t.PayoutPoll // who asked for quick polls keeps them
	}
	def(&t.PayoutWatchedPoll, DefaultPayoutSafetyNet)
	def(&t.PayoutPoll, 30*time.Second)
	def(&t.UnlockWait, 2*time.Hour)
	def(&t.SettleWait, 30*time.Minute)
	def(&t.PayoutRetry, time.Minute)
	def(&t.PayoutRetryMax, time.Hour)
	def(&t.LateMoneyGrace, 7*24*time.Hour)
	def(&t.LatePoll, time.Minute)
	if t.LateWatchedPollMax <= 0 && t.LatePollMax > 0 {
		t.LateWatchedPollMax = t.LatePollMax // who asked for quick polls keeps them
	}
	def(&t.LateWatchedPollMax, DefaultLateSafetyNet)
	def(&t.LatePollMax, 6*time.Hour)
	if t.FundingConfirmations == 0 {
		t.FundingConfirmations = 10
	}
	if t.PayoutConfirmations == 0 {
		t.PayoutConfirmations = 10
	}
	if t.HistoryLimit <= 0 {
		t.HistoryLimit = 10000
	}
	return t
}

// Checkpoint is the escrow's state carried into the next run by continue-as-new.
type Checkpoint struct {
	State   State           `json:"state"`
	Wallets map[Role]string `json:"wallets,omitempty"`
	Version int64           `json:"version"`
	Result  EscrowResult    `json:"result"`
	// WatchFor, set by an operator's resume-watch (starter.ResumeWatch), starts a finished
	// escrow's late-money watch again for this long; Operator names who did.
	WatchFor time.Duration `json:"watch_for,omitempty"`
	Operator string        `json:"operator,omitempty"`
}

// EscrowResult is what a finished escrow returns.
type EscrowResult struct {
	EscrowID   string     `json:"escrow_id"`
	Status     Status     `json:"status"`
	Address    string     `json:"address"`
	Assignment Assignment `json:"assignment"`
	// WalletOpens counts the open_wallet calls the setup needed (each costs 1–3.5 CPU-s).
	WalletOpens int `json:"wallet_opens"`
	// Restores counts rounds that were rerun from a snapshot.
	Restores int `json:"restores"`
	// Payout is the transaction that paid the vendor or refunded the buyer.
	Payout *Payout `json:"payout,omitempty"`
	// Leftover is what stays at the escrow's address once its watch ended, and why.
	Leftover *Leftover `json:"leftover,omitempty"`
}

// Validate checks an input before anything is started; the starter and the workflow both
// call it, so a bad escrow is refused at the door and never half-runs. It applies every
// rule; the workflow picks ValidateOriginal alone for runs started before the strict rules
// existed, so their replay sees the checks they were started under.
func (in EscrowInput) Validate() error {
	if err := in.ValidateOriginal(); err != nil {
		return err
	}
	return in.validateStrict()
}

// ValidateOriginal holds the original rules alone, which the workflow applies to runs
// started before the strict rules existed. Never change them: histories recorded under them
// must replay the same.
func (in EscrowInput) ValidateOriginal() error {
	if err := ValidateID(in.EscrowID); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{
		{"order_id", in.OrderID}, {"buyer_id", in.BuyerID}, {"vendor_id", in.VendorID}, {"arbiter_id", in.ArbiterID},
	} {
		if f.v == "" || len(f.v) > 200 {
			return fmt.Errorf("%w: %s must be 1-200 characters", ErrInvalidInput, f.name)
		}
	}
	if in.AmountAtomic <= 0 {
		return fmt.Errorf("%w: amount_atomic must be positive, got %d", ErrInvalidInput, in.AmountAtomic)
	}
	for _, f := range []struct{ name, v string }{
		{"vendor_payout_address", in.VendorPayoutAddress}, {"buyer_refund_address", in.BuyerRefundAddress},
	} {
		if err := moneroaddr.Valid(f.v, in.AddressNetwork()); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidInput, f.name, err)
		}
	}
	if in.PurgeDelay != nil && *in.PurgeDelay < 0 {
		return fmt.Errorf("%w: purge delay %s is negative", ErrInvalidInput, *in.PurgeDelay)
	}
	return nil
}

// validateStrict holds the rules added after the first release. Three distinct key holders
// are what make 2-of-3 an escrow: a user holding two keys signs any payout alone.
func (in EscrowInput) validateStrict() error {
	parties := []struct{ name, id string }{
		{"buyer_id", in.BuyerID}, {"vendor_id", in.VendorID}, {"arbiter_id", in.ArbiterID},
	}
	for i := range parties {
		for _, other := range parties[i+1:] {
			if parties[i].id == other.id {
				return fmt.Errorf("%w: %s and %s are the same user %q: the three key holders must be different users",
					ErrInvalidInput, parties[i].name, other.name, other.id)
			}
		}
	}
	// A partly pinned assignment used to be filled in by the pool, silently moving a role
	// a participant meant to hold on their own wallet-rpc: pin all three roles or none.
	a := in.Assignment
	if pinned := (a.Buyer != "") || (a.Vendor != "") || (a.Arbiter != ""); pinned && !a.Complete() {
		return fmt.Errorf("%w: assignment pins only some roles (buyer %q, vendor %q, arbiter %q): pin all three or none",
			ErrInvalidInput, a.Buyer, a.Vendor, a.Arbiter)
	}
	// Escrows started before commissions existed have none: the rule is new, not stricter.
	return in.Commission.validate(in.AddressNetwork())
}

// AddressNetwork is the network the payout addresses must be on (mainnet when unset).
func (in EscrowInput) AddressNetwork() moneroaddr.Network {
	if in.Network == "" {
		return moneroaddr.Mainnet
	}
	return moneroaddr.Network(in.Network)
}
