package escrow

import "time"

// Phase is where an escrow's multisig setup stands.
type Phase string

// The setup phases: NotStarted → Preparing → Exchanging{round} → Ready{address} | Failed{reason}.
const (
	PhaseNotStarted Phase = "NotStarted"
	PhasePreparing  Phase = "Preparing"
	PhaseExchanging Phase = "Exchanging"
	PhaseReady      Phase = "Ready"
	PhaseFailed     Phase = "Failed"
)

// Rounds is the number of key-exchange rounds of a 2-of-3 setup: make_multisig, then two
// exchange_multisig_keys.
const Rounds = 3

// State is what the status query returns: the phase plus its payload.
type State struct {
	Summary
	// Assignment says which wallet-rpc instance serves each role.
	Assignment Assignment `json:"assignment,omitempty"`
	// WalletOpens counts the open_wallet calls the setup needed (1–3.5 CPU-s each).
	WalletOpens int `json:"wallet_opens"`

	// Funding is set once the escrow waits for the buyer's payment.
	Funding Funding `json:"funding"`
	// ShippedAt starts the auto-release timer, which fires at AutoReleaseAt.
	ShippedAt     time.Time `json:"shipped_at,omitempty"`
	AutoReleaseAt time.Time `json:"auto_release_at,omitempty"`
	// DisputedAt starts the escalation timer; Escalated is set when it fires.
	DisputedAt    time.Time `json:"disputed_at,omitempty"`
	EscalateAt    time.Time `json:"escalate_at,omitempty"`
	Escalated     bool      `json:"escalated,omitempty"`
	DisputeReason string    `json:"dispute_reason,omitempty"`
	// Payout is set once the money's destination is decided.
	Payout *Payout `json:"payout,omitempty"`
	// Decisions lists every accepted decision, in order.
	Decisions []Decision `json:"decisions,omitempty"`
	// Blocked is set while a payout is parked: why, and when it is tried again.
	Blocked *PayoutBlock `json:"blocked,omitempty"`
	// WatchUntil is the end of the grace period after the final status, during which the
	// escrow keeps watching its address and refunds anything that arrives late.
	WatchUntil time.Time `json:"watch_until,omitempty"`
	// LateRefund is a refund of late money in progress; LateRefunds are the finished ones.
	LateRefund  *Payout  `json:"late_refund,omitempty"`
	LateRefunds []Payout `json:"late_refunds,omitempty"`
	// LateRules is 2 for a watch that follows the holdings rules (late money is what arrived
	// beyond LateSeenAtomic; the grace ends with a last look), 0 for the older watch.
	LateRules int `json:"late_rules,omitempty"`
	// LateSeenAtomic is the incoming money the escrow has dealt with: paid out, refunded, or
	// found to be dust. What arrives beyond it is late money.
	LateSeenAtomic uint64 `json:"late_seen_atomic,omitempty"`
	// LateWatch is the block watcher's part in the late-money watch: the address registered
	// again for the grace period, the sightings heard, and the unwatch at its end.
	LateWatch *FundingWatch `json:"late_watch,omitempty"`
	// Dust is the dust at the address as the last payout found it.
	Dust *Dust `json:"dust,omitempty"`
	// ForkRisk is set while the escrow may still hold money when the next hard fork activates.
	ForkRisk *ForkRisk `json:"fork_risk,omitempty"`
	// SplitOffer is a party's agree-split waiting for the other party's.
	SplitOffer *SplitOffer `json:"split_offer,omitempty"`
	// Leftover, once the watch has ended, lists what stays at the address and why.
	Leftover *Leftover `json:"leftover,omitempty"`
}

// Assignment maps each role to the name of the wallet-rpc instance (and so the task queue)
// that holds its wallet. It is decided once per escrow and recorded in history.
type Assignment struct {
	Buyer   string `json:"buyer"`
	Vendor  string `json:"vendor"`
	Arbiter string `json:"arbiter"`
	// Hosts says on which host (failure domain) each instance lives, when the pool knew.
	Hosts *Hosts `json:"hosts,omitempty"`
}

// Hosts names the host of each role's wallet-rpc instance: where its key share lives on disk.
type Hosts struct {
	Buyer   string `json:"buyer"`
	Vendor  string `json:"vendor"`
	Arbiter string `json:"arbiter"`
}

// For returns the host of role r's instance, "" if unknown.
func (h *Hosts) For(r Role) string {
	if h == nil {
		return ""
	}
	switch r {
	case Buyer:
		return h.Buyer
	case Vendor:
		return h.Vendor
	case Arbiter:
		return h.Arbiter
	}
	return ""
}

// SharesHost reports whether two roles' keys are known to live on one host, so that losing
// that host leaves fewer than two shares. Unknown hosts share nothing.
func (a Assignment) SharesHost() bool {
	h := a.Hosts
	if h == nil {
		return false
	}
	same := func(x, y string) bool { return x != "" && x == y }
	return same(h.Buyer, h.Vendor) || same(h.Buyer, h.Arbiter) || same(h.Vendor, h.Arbiter)
}

// For returns the instance assigned to role r.
func (a Assignment) For(r Role) string {
	switch r {
	case Buyer:
		return a.Buyer
	case Vendor:
		return a.Vendor
	case Arbiter:
		return a.Arbiter
	}
	return ""
}

// With returns a copy of a with role r moved to instance on host ("" if unknown): a
// restored wallet's new home.
func (a Assignment) With(r Role, instance, host string) Assignment {
	var h Hosts
	if a.Hosts != nil {
		h = *a.Hosts
	}
	switch r {
	case Buyer:
		a.Buyer, h.Buyer = instance, host
	case Vendor:
		a.Vendor, h.Vendor = instance, host
	case Arbiter:
		a.Arbiter, h.Arbiter = instance, host
	}
	if h != (Hosts{}) {
		a.Hosts = &h
	}
	return a
}

// Complete reports whether every role has an instance.
func (a Assignment) Complete() bool {
	return a.Buyer != "" && a.Vendor != "" && a.Arbiter != ""
}
