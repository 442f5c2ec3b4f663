package timeline

import (
	"fmt"
	"strings"
	"unicode/utf8"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/converter"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// attrs is the escrow's search attributes as of the event being read. They are the only
// payloads the timeline decodes: the SDK writes them with the default converter, never
// through the encrypting codec, because the server must index them.
type attrs struct {
	phase, status string
	round         int64
	escalated     bool
}

// apply takes the escrow's keys from an upsert (or a run's initial attributes) and reports
// whether any was there; other keys (TemporalChangeVersion, …) are ignored.
func (a *attrs) apply(fields map[string]*commonpb.Payload) bool {
	dc := converter.GetDefaultDataConverter()
	seen := false
	decode := func(key string, into any) {
		if p, ok := fields[key]; ok && p != nil {
			seen = true
			_ = dc.FromPayload(p, into) // an undecodable value keeps the previous one
		}
	}
	decode(escrow.SearchAttrPhase.GetName(), &a.phase)
	decode(escrow.SearchAttrRound.GetName(), &a.round)
	decode(escrow.SearchAttrStatus.GetName(), &a.status)
	decode(escrow.SearchAttrEscalated.GetName(), &a.escalated)
	return seen
}

// label names a phase row: the setup phase (with its round while exchanging keys), then,
// once the setup is over, the marketplace status, which is what moves from there on.
func (a attrs) label() string {
	switch {
	case a.phase == string(escrow.PhaseReady) && a.status != "" && a.status != string(escrow.StatusReady):
		if a.escalated {
			return a.status + " (escalated)"
		}
		return a.status
	case a.phase == string(escrow.PhaseExchanging):
		return fmt.Sprintf("%s %d", a.phase, a.round)
	}
	return a.phase
}

// String spells the attributes as a Web UI query would, so a row can be pasted into one.
func (a attrs) String() string {
	var parts []string
	if a.phase != "" {
		parts = append(parts, escrow.SearchAttrPhase.GetName()+"="+a.phase)
		parts = append(parts, fmt.Sprintf("%s=%d", escrow.SearchAttrRound.GetName(), a.round))
	}
	if a.status != "" {
		parts = append(parts, escrow.SearchAttrStatus.GetName()+"="+a.status)
	}
	if a.escalated {
		parts = append(parts, escrow.SearchAttrEscalated.GetName()+"=true")
	}
	return strings.Join(parts, " ")
}

// timerPurpose names a durable timer. History records only its length, so the purpose is
// read off the escrow's state when it started; each state has one kind of timer.
func (a attrs) timerPurpose() string {
	switch escrow.Status(a.status) {
	case escrow.StatusAwaitingFunding:
		return "funding poll"
	case escrow.StatusShipped:
		return "auto-release"
	case escrow.StatusDisputed:
		return "escalation"
	case escrow.StatusReleasing, escrow.StatusRefunding:
		return "payout poll"
	case "", escrow.StatusSettingUp:
		if a.phase == string(escrow.PhaseExchanging) {
			return "purge delay" // between key-exchange rounds
		}
	}
	return "timer"
}

// encodedMessage is what the SDK's failure converter leaves in place of a message it moved
// into the (encrypted) encoded attributes; it says nothing, so it is not shown.
const encodedMessage = "Encoded failure"

// failed formats a failure as "failed: <type>[: message]".
func failed(f *failurepb.Failure) string {
	s := "failed: " + failureKind(f)
	if m := f.GetMessage(); m != "" && m != encodedMessage {
		s += ": " + clip(m)
	}
	return s
}

// failureKind is a failure's type: the application error type the project's activities
// classify errors with, or the kind of a timeout, cancellation, termination.
func failureKind(f *failurepb.Failure) string {
	switch {
	case f == nil:
		return "unknown failure"
	case f.GetApplicationFailureInfo() != nil:
		if t := f.GetApplicationFailureInfo().GetType(); t != "" {
			return t
		}
		return "ApplicationError"
	case f.GetTimeoutFailureInfo() != nil:
		return "timeout " + f.GetTimeoutFailureInfo().GetTimeoutType().String()
	case f.GetCanceledFailureInfo() != nil:
		return "canceled"
	case f.GetTerminatedFailureInfo() != nil:
		return "terminated"
	case f.GetActivityFailureInfo() != nil:
		return "activity " + f.GetActivityFailureInfo().GetActivityType().GetName()
	case f.GetServerFailureInfo() != nil:
		return "server error"
	}
	return "failure"
}

// failureTypes lists the causes under a failure ("caused by activity MakeMultisig →
// WalletRejected"), which is how a setup failure says which step refused.
func failureTypes(f *failurepb.Failure) string {
	var kinds []string
	for c := f.GetCause(); c != nil && len(kinds) < 5; c = c.GetCause() {
		kinds = append(kinds, failureKind(c))
	}
	if len(kinds) == 0 {
		return ""
	}
	return "caused by " + strings.Join(kinds, " → ")
}

// retryState says why a failed step was not retried, when that is not the obvious case.
func retryState(s enumspb.RetryState) string {
	switch s {
	case enumspb.RETRY_STATE_UNSPECIFIED, enumspb.RETRY_STATE_IN_PROGRESS:
		return ""
	}
	return "retry state " + s.String()
}

// clip keeps free text to one short line.
func clip(s string) string {
	const limit = 100
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)
	return string(r[:limit-1]) + "…"
}
