package escrow

import "time"

// The next Monero hard fork (FCMP++ and Carrot, planned for early 2027) ends what a 0.18
// multisig can spend: money in an escrow that runs across it may not move for months. The
// worker knows the fork's height (XMR_ESCROW_NEXT_FORK_HEIGHT, or monerod's hard_fork_info
// once a release schedules it); a new escrow whose longest term would cross it is refused,
// and a running one that would is flagged (docs/operations.md, "Before a hard fork").

// BlockTime is the target time between Monero blocks (DIFFICULTY_TARGET_V2), which turns an
// escrow's terms into heights.
const BlockTime = 120 * time.Second

// forkMargin is added to an escrow's longest term: its payout, the payout's confirmations
// and a block rate below target all have to fit before the fork.
const forkMargin = 48 * time.Hour

// ForkOutlook is what the worker knows of the next hard fork: its height (0: none known), and
// the chain's height when it looked.
type ForkOutlook struct {
	NextForkHeight uint64    `json:"next_fork_height,omitempty"`
	Height         uint64    `json:"height,omitempty"`
	At             time.Time `json:"at"`
}

// Known reports whether a fork height is known ahead of the chain.
func (o ForkOutlook) Known() bool { return o.NextForkHeight > o.Height && o.Height > 0 }

// HeightAt estimates the chain's height at t, at the target block time.
func (o ForkOutlook) HeightAt(t time.Time) uint64 {
	if !t.After(o.At) {
		return o.Height
	}
	return o.Height + uint64(t.Sub(o.At)/BlockTime)
}

// ForkRisk flags an escrow that may still hold money when the next hard fork activates.
type ForkRisk struct {
	// ForkHeight is the fork's height; EndsBy the height by which the escrow's longest term
	// (with its 2-day margin for the payout) has run out, as estimated when flagged.
	ForkHeight uint64    `json:"fork_height"`
	EndsBy     uint64    `json:"ends_by"`
	Since      time.Time `json:"since"`
}

// LongestTerm is how long an escrow may still hold money, from a status with the given
// deadlines: waiting for the payment up to its deadline, then the auto-release after
// shipping, then a dispute's escalation, plus 2 days for the payout. A status further on has less left.
func LongestTerm(t Timing, st Status, fundingLeft, releaseLeft time.Duration) time.Duration {
	t = t.WithDefaults()
	switch st {
	case StatusSettingUp, StatusReady:
		return t.FundingDeadline + t.AutoRelease + t.DisputeEscalation + forkMargin
	case StatusAwaitingFunding:
		return max(fundingLeft, 0) + t.AutoRelease + t.DisputeEscalation + forkMargin
	case StatusFunded:
		return t.AutoRelease + t.DisputeEscalation + forkMargin
	case StatusShipped:
		return max(releaseLeft, 0) + t.DisputeEscalation + forkMargin
	case StatusDisputed:
		return t.DisputeEscalation + forkMargin
	}
	return forkMargin // deciding or paying out: only the payout is left
}
