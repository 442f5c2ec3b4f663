package main

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// payoutTrace is where one escrow's decision → payout submitted went, read from its
// workflow history: the server's timestamps, so the benchmark's own polling of the escrow's
// state adds nothing to it.
type payoutTrace struct {
	// total is the decision update accepted → the submitting activity completed.
	total time.Duration
	// steps are the activities in between, in the order they were scheduled.
	steps []traceStep
}

// traceStep is one activity of a payout: how long it waited on its task queue (scheduled →
// started) and ran (started → completed), and the gap since the step before completed (the
// workflow task that scheduled it, or the decision's for the first).
type traceStep struct {
	activity        string
	gap, queue, run time.Duration
}

// submitActivity is the activity whose completion is a payout submitted.
const submitActivity = "SubmitPayout"

// time runs one step of the script's payout and records how long it ran.
func (tr *payoutTrace) time(step string, fn func() error) error {
	start := time.Now()
	err := fn()
	tr.steps = append(tr.steps, traceStep{activity: step, run: time.Since(start)})
	return err
}

// tracePayout reads escrowID's history up to its payout's submission.
func tracePayout(ctx context.Context, c client.Client, escrowID string) (payoutTrace, error) {
	var (
		tr        payoutTrace
		decided   time.Time
		last      time.Time
		scheduled = map[int64]*traceStep{}
		times     = map[int64]time.Time{}
	)
	found, err := walkHistory(ctx, c, escrowID, func(ev *historypb.HistoryEvent, at time.Time) bool {
		if a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil && decided.IsZero() && isDecision(a) {
			decided, last = at, at
			return false
		}
		return !decided.IsZero() && tr.add(ev, at, &last, scheduled, times)
	})
	if err != nil {
		return tr, fmt.Errorf("trace payout of %s: %w", escrowID, err)
	}
	if !found {
		return tr, fmt.Errorf("trace payout of %s: no decision followed by %s in its history", escrowID, submitActivity)
	}
	tr.total = last.Sub(decided)
	return tr, nil
}

// walkHistory hands escrowID's history to fn event by event, with each event's server time,
// until fn says it found what it looked for; found is false when the history ended first.
func walkHistory(ctx context.Context, c client.Client, escrowID string, fn func(ev *historypb.HistoryEvent, at time.Time) bool) (found bool, err error) {
	it := c.GetWorkflowHistory(ctx, escrow.WorkflowID(escrowID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return false, err
		}
		if fn(ev, ev.GetEventTime().AsTime()) {
			return true, nil
		}
	}
	return false, nil
}

// isDecision says an accepted update is a release or refund decision.
func isDecision(a *historypb.WorkflowExecutionUpdateAcceptedEventAttributes) bool {
	name := escrow.UpdateName(a.GetAcceptedRequest().GetInput().GetName())
	return name == escrow.UpdateConfirmReceipt || name == escrow.UpdateAgreeRefund
}

// add takes one event after the decision; done once the submitting activity completed.
func (tr *payoutTrace) add(ev *historypb.HistoryEvent, at time.Time, last *time.Time, scheduled map[int64]*traceStep, times map[int64]time.Time) (done bool) {
	switch {
	case ev.GetActivityTaskScheduledEventAttributes() != nil:
		tr.steps = append(tr.steps, traceStep{activity: ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName(), gap: at.Sub(*last)})
		scheduled[ev.GetEventId()], times[ev.GetEventId()] = &tr.steps[len(tr.steps)-1], at
	case ev.GetActivityTaskStartedEventAttributes() != nil:
		id := ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId()
		if s := scheduled[id]; s != nil {
			s.queue = at.Sub(times[id])
			times[id] = at
		}
	case ev.GetActivityTaskCompletedEventAttributes() != nil:
		id := ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
		s := scheduled[id]
		if s == nil {
			return false // scheduled before the decision (a projection write): not the payout's
		}
		s.run, *last = at.Sub(times[id]), at
		return s.activity == submitActivity
	}
	return false
}

// traceSummary is the median of each step's parts over several payouts, by activity in the
// order of the first payout, plus the medians of the total and of the parts summed.
type traceSummary struct {
	Total float64     `json:"median_total_s"`
	Gaps  float64     `json:"median_workflow_gaps_s"`
	Queue float64     `json:"median_queue_wait_s"`
	Run   float64     `json:"median_activity_run_s"`
	Steps []traceStat `json:"steps"`
	// Calls are ours' wallet-rpc calls from the decision until the payouts were submitted,
	// per escrow, by method (medians over the batches).
	Calls rpcCalls `json:"wallet_rpc_calls,omitempty"`
}

// traceStat is one activity's medians (its occurrences in one payout summed).
type traceStat struct {
	Activity string  `json:"activity"`
	Count    int     `json:"count_per_payout"`
	GapS     float64 `json:"median_gap_s"`
	QueueS   float64 `json:"median_queue_s"`
	RunS     float64 `json:"median_run_s"`
}

// summarize takes the medians of traces, and of calls (each a batch's, per escrow); an
// activity a payout did not run counts as zero in it.
func summarize(traces []payoutTrace, calls []rpcCalls) traceSummary {
	var sum traceSummary
	sum.Calls = medianCalls(calls)
	if len(traces) == 0 {
		return sum
	}
	var order []string
	parts := make([]map[string][4]float64, len(traces)) // gap, queue, run, count
	var total, gaps, queues, runs []float64
	for i, tr := range traces {
		parts[i] = map[string][4]float64{}
		var g, q, r float64
		for _, s := range tr.steps {
			if !slices.Contains(order, s.activity) {
				order = append(order, s.activity)
			}
			p := parts[i][s.activity]
			parts[i][s.activity] = [4]float64{p[0] + s.gap.Seconds(), p[1] + s.queue.Seconds(), p[2] + s.run.Seconds(), p[3] + 1}
			g, q, r = g+s.gap.Seconds(), q+s.queue.Seconds(), r+s.run.Seconds()
		}
		total, gaps, queues, runs = append(total, tr.total.Seconds()), append(gaps, g), append(queues, q), append(runs, r)
	}
	sum.Total, sum.Gaps, sum.Queue, sum.Run = median(total), median(gaps), median(queues), median(runs)
	for _, a := range order {
		var col [4][]float64
		for _, p := range parts {
			for k := range col {
				col[k] = append(col[k], p[a][k])
			}
		}
		sum.Steps = append(sum.Steps, traceStat{Activity: a, Count: int(median(col[3])), GapS: median(col[0]), QueueS: median(col[1]), RunS: median(col[2])})
	}
	return sum
}

// rpcCalls is the worker's wallet-rpc calls by method (summed over instances): how many,
// and their seconds, from xmr_escrow_wallet_rpc_call_seconds.
type rpcCalls map[string]callStat

// callStat is one method's calls.
type callStat struct {
	Count float64 `json:"count"`
	S     float64 `json:"s"`
}

// gatherCalls reads the wallet-rpc call histogram from reg.
func gatherCalls(reg prometheus.Gatherer) (rpcCalls, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather wallet-rpc call metrics: %w", err)
	}
	out := rpcCalls{}
	for _, mf := range mfs {
		if mf.GetName() != "xmr_escrow_wallet_rpc_call_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" {
					c := out[l.GetValue()]
					c.Count += float64(m.GetHistogram().GetSampleCount())
					c.S += m.GetHistogram().GetSampleSum()
					out[l.GetValue()] = c
				}
			}
		}
	}
	return out, nil
}

// metricSum is the sum of a counter's or gauge's values over all its labels, 0 when the
// registry has none (or cannot be read: the report then shows 0, not a failure).
func metricSum(reg prometheus.Gatherer, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// since is the calls made after before.
func (c rpcCalls) since(before rpcCalls) rpcCalls {
	out := rpcCalls{}
	for m, s := range c {
		if d := (callStat{Count: s.Count - before[m].Count, S: s.S - before[m].S}); d.Count > 0 {
			out[m] = d
		}
	}
	return out
}

// medianCalls is each method's median over batches (0 in a batch that did not call it).
func medianCalls(batches []rpcCalls) rpcCalls {
	if len(batches) == 0 {
		return nil
	}
	out := rpcCalls{}
	for _, b := range batches {
		for m := range b {
			out[m] = callStat{}
		}
	}
	for m := range out {
		var n, sec []float64
		for _, b := range batches {
			n, sec = append(n, b[m].Count), append(sec, b[m].S)
		}
		out[m] = callStat{Count: median(n), S: median(sec)}
	}
	return out
}

// per divides a batch's calls by its escrows.
func (c rpcCalls) per(n int) rpcCalls {
	out := rpcCalls{}
	for m, s := range c {
		out[m] = callStat{Count: s.Count / float64(n), S: s.S / float64(n)}
	}
	return out
}

// String lists the methods, the costliest first: "refresh 4× 0.31s, ...".
func (c rpcCalls) String() string {
	methods := slices.Collect(maps.Keys(c))
	slices.SortFunc(methods, func(a, b string) int { return cmp.Compare(c[b].S, c[a].S) })
	parts := make([]string, 0, len(methods))
	for _, m := range methods {
		parts = append(parts, fmt.Sprintf("%s %.3g× %.2fs", m, c[m].Count, c[m].S))
	}
	return strings.Join(parts, ", ")
}
