package escrow

// Status is where an escrow stands for the marketplace: coarser than Phase, and the same
// word in the workflow, the Postgres projection and the client.
type Status string

// Every status an escrow can have. The later ones arrive with funding and payout.
const (
	StatusSettingUp       Status = "setting_up"
	StatusReady           Status = "ready"
	StatusFailed          Status = "failed"
	StatusAwaitingFunding Status = "awaiting_funding"
	StatusFunded          Status = "funded"
	StatusShipped         Status = "shipped"
	StatusDisputed        Status = "disputed"
	StatusReleasing       Status = "releasing"
	StatusRefunding       Status = "refunding"
	StatusCompleted       Status = "completed"
	StatusRefunded        Status = "refunded"
	StatusCancelled       Status = "cancelled"
	// StatusPayoutBlocked is a decided payout that cannot proceed (daemon down, fee spike,
	// a wallet that will not open): parked, retried on a back-off, resumable by an operator.
	StatusPayoutBlocked Status = "payout_blocked"
)

// Statuses lists every status, for validation and for the database's check constraint.
var Statuses = []Status{
	StatusSettingUp, StatusReady, StatusFailed, StatusAwaitingFunding, StatusFunded,
	StatusShipped, StatusDisputed, StatusReleasing, StatusRefunding, StatusCompleted,
	StatusRefunded, StatusCancelled, StatusPayoutBlocked,
}

// Final reports whether s ends the escrow: no decision can follow it.
func (s Status) Final() bool {
	return s == StatusCompleted || s == StatusRefunded || s == StatusCancelled || s == StatusFailed
}

// Decided reports whether a payout decision has been taken (or the escrow is over), after
// which no other decision is accepted.
func (s Status) Decided() bool {
	return s.Final() || s == StatusReleasing || s == StatusRefunding || s == StatusPayoutBlocked
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, k := range Statuses {
		if s == k {
			return true
		}
	}
	return false
}

// Phases lists every setup phase.
var Phases = []Phase{PhaseNotStarted, PhasePreparing, PhaseExchanging, PhaseReady, PhaseFailed}

// StatusOf maps a setup phase to the marketplace's status.
func StatusOf(p Phase) Status {
	switch p {
	case PhaseReady:
		return StatusReady
	case PhaseFailed:
		return StatusFailed
	}
	return StatusSettingUp
}
