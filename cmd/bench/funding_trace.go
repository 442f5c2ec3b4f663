package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// fundingTrace is where ours' funding went after the chain had confirmed the payment (the last
// of the confirmations mined) until the escrow was funded, read from its workflow history.
// The script polls its wallets every lifePoll; ours waits for the block watcher's sightings
// and its own FundingPoll timer, and each way costs a funding check.
type fundingTrace struct {
	// total is mined → the escrow's status funded (the server's upsert of EscrowStatus).
	total time.Duration
	// sightings are the watcher's payment-seen signals after mined.
	sightings int
	// checks and checkRun are the CheckFunding activities that ended after mined, and how long
	// they took after mined (scheduled → completed).
	checks   int
	checkRun time.Duration
	// timers is the FundingPoll timers that fired after mined; timerWait how long the escrow
	// waited on them after mined, timerLate how much later than asked they fired.
	timers               int
	timerWait, timerLate time.Duration
}

// String is one trace as the progress lines show it.
func (f fundingTrace) String() string {
	return fmt.Sprintf("mined → funded %.2fs: %d sightings, %d checks took %.2fs, %d timers waited %.2fs (fired %.2fs late)",
		f.total.Seconds(), f.sightings, f.checks, f.checkRun.Seconds(), f.timers, f.timerWait.Seconds(), f.timerLate.Seconds())
}

// traceFunding reads escrowID's history from mined (this process's clock: the Temporal
// server runs on the same machine) to its status funded.
func traceFunding(ctx context.Context, c client.Client, escrowID string, mined time.Time) (fundingTrace, error) {
	var (
		tr      fundingTrace
		started = map[int64]time.Time{}     // activity or timer event ID → its start
		asked   = map[int64]time.Duration{} // timer event ID → its duration
	)
	found, err := walkHistory(ctx, c, escrowID, func(ev *historypb.HistoryEvent, at time.Time) bool {
		switch {
		case ev.GetTimerStartedEventAttributes() != nil:
			started[ev.GetEventId()], asked[ev.GetEventId()] = at, ev.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration()
		case ev.GetTimerFiredEventAttributes() != nil && at.After(mined):
			id := ev.GetTimerFiredEventAttributes().GetStartedEventId()
			tr.timers++
			tr.timerWait += at.Sub(later(started[id], mined))
			tr.timerLate += max(0, at.Sub(started[id].Add(asked[id])))
		case ev.GetActivityTaskScheduledEventAttributes() != nil && ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == "CheckFunding":
			started[ev.GetEventId()] = at
		case ev.GetActivityTaskCompletedEventAttributes() != nil && at.After(mined):
			if s, ok := started[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]; ok {
				tr.checks++
				tr.checkRun += at.Sub(later(s, mined))
			}
		case ev.GetWorkflowExecutionSignaledEventAttributes() != nil && at.After(mined):
			if ev.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == string(escrow.SignalPaymentSeen) {
				tr.sightings++
			}
		case ev.GetUpsertWorkflowSearchAttributesEventAttributes() != nil && at.After(mined):
			status := ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()[escrow.SearchAttrStatus.GetName()]
			if status != nil && strings.Contains(string(status.GetData()), string(escrow.StatusFunded)) {
				tr.total = at.Sub(mined)
				return true
			}
		}
		return false
	})
	if err != nil {
		return tr, fmt.Errorf("trace funding of %s: %w", escrowID, err)
	}
	if !found {
		return tr, fmt.Errorf("trace funding of %s: not funded after %s in its history", escrowID, mined.Format(time.RFC3339Nano))
	}
	return tr, nil
}

// later is the later of two times.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// fundingSummary is the medians of ours' funding traces.
type fundingSummary struct {
	Total     float64 `json:"median_mined_to_funded_s"`
	Sightings float64 `json:"median_sightings"`
	Checks    float64 `json:"median_checks"`
	CheckS    float64 `json:"median_checks_s"`
	Timers    float64 `json:"median_timers"`
	TimerWait float64 `json:"median_timer_wait_s"`
	TimerLate float64 `json:"median_timer_late_s"`
}

// summarizeFunding takes the medians of traces.
func summarizeFunding(traces []fundingTrace) *fundingSummary {
	if len(traces) == 0 {
		return nil
	}
	var col [7][]float64
	for _, t := range traces {
		for i, v := range []float64{t.total.Seconds(), float64(t.sightings), float64(t.checks), t.checkRun.Seconds(), float64(t.timers), t.timerWait.Seconds(), t.timerLate.Seconds()} {
			col[i] = append(col[i], v)
		}
	}
	return &fundingSummary{Total: median(col[0]), Sightings: median(col[1]), Checks: median(col[2]), CheckS: median(col[3]),
		Timers: median(col[4]), TimerWait: median(col[5]), TimerLate: median(col[6])}
}

// String is the summary as the report shows it.
func (s *fundingSummary) String() string {
	return fmt.Sprintf("%.2fs: %.0f sightings, %.0f checks took %.2fs, %.0f timers waited %.2fs (fired %.2fs late)",
		s.Total, s.Sightings, s.Checks, s.CheckS, s.Timers, s.TimerWait, s.TimerLate)
}
