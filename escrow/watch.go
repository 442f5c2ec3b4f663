package escrow

import "time"

// DefaultFundingSafetyNet is the longest wait between funding checks while the block watcher
// watches an escrow's address (Timing.FundingWatchedPollMax). The watcher's signal makes the
// escrow check at once, so the poll only covers a watcher that is down or a signal that is
// lost: at 6 h, a payment is noticed within the quarter of a day at worst, for four checks a
// day instead of 144.
const DefaultFundingSafetyNet = 6 * time.Hour

// DefaultLateSafetyNet is the longest wait between late-money checks while the block watcher
// watches a finished escrow's address (Timing.LateWatchedPollMax): once a day, for a watcher
// that is down or a signal that is lost. The net asks the watcher's records first, and a
// wallet only when they do not vouch for the address. The grace period still ends with a last
// look.
const DefaultLateSafetyNet = 24 * time.Hour

// DefaultPayoutSafetyNet is the wait between payout status checks while the block watcher
// follows the payout's transactions (Timing.PayoutWatchedPoll): its signal brings the depth
// and a disappearance, so the poll only covers a watcher that is down.
const DefaultPayoutSafetyNet = 10 * time.Minute

// PayoutSeen is the payload of SignalPayoutSeen: where the block watcher sees a payout's
// transactions, taken together. Gone says one of them is neither in the pool nor in the
// chain (dropped, or reorged out and not back in the pool); otherwise InPool says one still
// waits in the pool, and Confirmations is the depth of the shallowest (capped at what the
// escrow waits for).
type PayoutSeen struct {
	// TxHash is the transaction the state is about: the one gone, or the shallowest.
	TxHash        string `json:"tx_hash"`
	Confirmations uint64 `json:"confirmations,omitempty"`
	InPool        bool   `json:"in_pool,omitempty"`
	Gone          bool   `json:"gone,omitempty"`
}

// PayoutFollow is the block watcher's part in a payout's confirmations: the hashes it was
// asked to follow, or why it was not, and the signals heard.
type PayoutFollow struct {
	Following bool     `json:"following"`
	Failed    string   `json:"failed,omitempty"`
	TxHashes  []string `json:"tx_hashes,omitempty"`
	Signals   int      `json:"signals,omitempty"`
	// Last is the last signal's payload.
	Last *PayoutSeen `json:"last,omitempty"`
	// Unfollowed is set once the escrow was taken off the watcher, at the end of its watch.
	Unfollowed bool `json:"unfollowed,omitempty"`
	// Suspect is set when the watcher reported the completed payout gone, during the grace
	// period, until the wallet was asked about it; Undone counts the payouts found undone
	// (reorged out after completion) and built again.
	Suspect bool `json:"suspect,omitempty"`
	Undone  int  `json:"undone,omitempty"`
}

// maxPaymentsSeen bounds the block watcher's sightings an escrow lists: a flood of dust
// payments must not grow its state without bound.
const maxPaymentsSeen = 16

// PaymentSeen is the payload of SignalPaymentSeen: one payment to the escrow's address, as
// the block watcher saw it. It is a hint for the audit trail; the escrow decides on its
// wallet's check alone.
type PaymentSeen struct {
	TxHash       string `json:"tx_hash"`
	AmountAtomic uint64 `json:"amount_atomic"`
	// Height is the block holding the payment, 0 while it is in the pool (InPool).
	Height     uint64 `json:"height,omitempty"`
	UnlockTime uint64 `json:"unlock_time,omitempty"`
	InPool     bool   `json:"in_pool,omitempty"`
	// NextHeight, for a payment in the pool, is the height of the next block: it is mined at
	// that height or above, which is what its unlock_time is judged against.
	NextHeight uint64 `json:"next_height,omitempty"`
	// Unread is set when the watcher could not read transaction TxHash (a format from a later
	// hard fork, or a malformed one): no amount is known, and the escrow asks its wallet.
	Unread bool `json:"unread,omitempty"`
	// Confirmations is set on a followed funding payment's report (FollowFunding): all the
	// followed payments are this deep (TxHash the shallowest), the depth the escrow waits for.
	// Gone is set instead when TxHash left the pool and the chain.
	Confirmations uint64 `json:"confirmations,omitempty"`
	Gone          bool   `json:"gone,omitempty"`
}

// FundingWatch is the block watcher's part in an escrow's funding wait. It is set once the
// escrow asked to be watched, so a run continued as new neither registers twice nor forgets
// that its poll is only a safety net.
type FundingWatch struct {
	// Registered is true once the watcher has the address; Failed says why it has not (the
	// escrow then polls as it always did).
	Registered bool   `json:"registered"`
	Failed     string `json:"failed,omitempty"`
	// FromHeight is the first block the watcher looks at for this escrow.
	FromHeight uint64 `json:"from_height,omitempty"`
	// Signals counts the payment-seen signals received; Seen lists the first 16.
	Signals int           `json:"signals,omitempty"`
	Seen    []PaymentSeen `json:"seen,omitempty"`
	// TimeLocked counts the sightings of payments that cannot count (PaymentSeen.TimeLocked),
	// which brought no wallet check forward.
	TimeLocked int `json:"time_locked,omitempty"`
	// Unwatched is set once the address was taken off the watcher, after the wait ended.
	Unwatched bool `json:"unwatched,omitempty"`
	// Kept is set on the funding wait's watch when its registration stays through the payout
	// (a funded or cancelled escrow), so the late-money watch takes it over without asking a
	// wallet: the watcher has covered the address since the funding wait.
	Kept bool `json:"kept,omitempty"`
	// Adopted is set on the late-money watch when it took over the funding wait's
	// registration; it then has no start check unless a sighting came in between.
	Adopted bool `json:"adopted,omitempty"`
	// HealthNet is set on the late-money watch when its safety net asks the watcher's own
	// records first (WatchHealth), and asks a wallet only when they do not vouch for the
	// address. Vouched counts the safety-net turns they did vouch for.
	HealthNet bool `json:"health_net,omitempty"`
	Vouched   int  `json:"vouched,omitempty"`
	// Confirming is set, for the late-money watch, while a payment may still be confirming
	// (its last wallet check saw one, or a sighting came while the payout ran): the watcher
	// does not follow late payments to their depth, so the next check asks the wallet.
	Confirming bool `json:"confirming,omitempty"`
	// Followed lists the funding payments the watcher was last asked to follow until they
	// are deep enough (it then signals payment-seen once); FollowFailed says why it could not.
	Followed     []string `json:"followed,omitempty"`
	FollowFailed string   `json:"follow_failed,omitempty"`
}

// txHashLength is a transaction hash's length in hex.
const txHashLength = 64

// Note records a sighting, keeping at most 16 of them. Anyone allowed to signal
// the workflow can send one, so a hash longer than a hash is cut rather than kept whole.
func (w *FundingWatch) Note(p PaymentSeen) {
	w.Signals++
	if len(p.TxHash) > txHashLength {
		p.TxHash = p.TxHash[:txHashLength]
	}
	if len(w.Seen) < maxPaymentsSeen {
		w.Seen = append(w.Seen, p)
	}
}
