package escrow

import "time"

// MinRetention is the shortest namespace retention under which an escrow's whole history
// (every run of its continue-as-new chain, which the timeline and the audit trail read) is
// still there when its last run closes. Temporal deletes a closed run's history a retention
// after the run closed, and an escrow's first run may continue as new almost at once, so the
// retention must cover the escrow's whole life. With the default Timing that life is at most
//
//	 1 day   setup: the wait for idle wallet-rpc instances (workflows' capacityWait, 24 h)
//	         plus the key exchange (minutes)
//	 1 day   FundingDeadline: an escrow not funded by then is cancelled
//	14 days  AutoRelease: released to the vendor this long after shipping
//	 7 days  DisputeEscalation: a dispute opened just before the auto-release
//	 2 days  forkMargin (LongestTerm's allowance for the payout): SettleWait (30 min),
//	         UnlockWait (2 h) and PayoutConfirmations (10 blocks, ~20 min), with room for a
//	         slow chain and the last late refund
//	 7 days  LateMoneyGrace: the finished escrow watches its address and refunds late money
//	-------
//	32 days (768h), i.e. LongestTerm of a new escrow, plus the setup, plus LateMoneyGrace.
//
// Some phases have no bound and are assumed to end at once: a funded escrow waits for the
// vendor to ship (or refund) with no timer, a dispute past its escalation is only flagged and
// waits for the arbiter, a parked payout waits for an operator (retry-payout,
// restore-wallet), and resume-watch runs as long as the operator says. An escrow that stays
// in them for long loses the oldest runs of its history before it closes
// (docs/operations.md, "The namespace check"); escrows given longer Timing need a longer
// retention too. 720h (30 days), which the compose stack's auto-setup gave the namespace, is
// below this bound: temporal-bootstrap raises a shorter retention to it.
const MinRetention = 32 * 24 * time.Hour
