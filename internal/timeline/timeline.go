// Package timeline turns one escrow's workflow history into a timeline: which step ran on
// which wallet-rpc instance, how long it waited for that instance (the predecessor's
// invisible "lock wait"), how long it ran, how often it was retried, and where the timers,
// decisions and phase changes fall in between. It replaces the predecessor's
// instrumentation dump: everything it shows is already in history, so it needs no extra
// bookkeeping in the workflow and works on escrows that ran before it existed.
//
// It never decodes a payload: inputs, results, failure details and local-activity markers
// are encrypted, and a timeline is meant to be pasted into tickets. Only search attributes
// (phase, round, status), which are stored unencrypted by design, are decoded.
package timeline

import (
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// Entry kinds.
const (
	KindStep     = "step"     // an activity
	KindLocal    = "local"    // a local activity, seen through its marker
	KindTimer    = "timer"    // a durable timer
	KindDecision = "decision" // an update, accepted → completed
	KindSignal   = "signal"   // a signal
	KindPhase    = "phase"    // a search-attribute upsert: EscrowPhase/EscrowRound/EscrowStatus
	KindWorkflow = "workflow" // a run started, completed, failed, continued as new; failed workflow tasks
)

// Results other than "ok" and "failed: …".
const (
	ResultOK       = "ok"
	ResultFired    = "fired"
	ResultTimedOut = "timed out"
	ResultCanceled = "canceled"
	// ResultPending marks something history has not closed yet: a step still waiting or
	// retrying (history writes a step's start only when it ends), a timer, an update.
	ResultPending = "pending"
)

// Entry is one row of a timeline.
type Entry struct {
	// Kind is one of the Kind constants.
	Kind string
	// Name is the activity type, the timer's purpose, the update or signal name, the phase
	// (or, once the setup is over, the status), or what happened to the run.
	Name string
	// Instance is the wallet-rpc instance a step ran on ("" for steps on the escrow queue).
	Instance string
	// Start is when the step was scheduled, the timer started, the update accepted.
	Start time.Time
	// Duration is scheduled → closed for steps (Wait plus StartToClose), started → fired or
	// canceled for timers, accepted → completed for decisions, and the run's length on the
	// rows that end a run.
	Duration time.Duration
	// Wait is a step's schedule-to-start: the time it queued for its wallet-rpc instance.
	// For a retried step it also covers the earlier attempts and their back-off.
	Wait time.Duration
	// Attempt is a step's last attempt number; above 1 the step was retried.
	Attempt int32
	// Result is "ok", "failed: <type>[: message]", "timed out", "canceled", "fired" or
	// "pending"; empty for instants (phase changes, signals, a run's start).
	Result string
	// Detail is a short note (timer length, retry state, the raw search attributes). It
	// never holds payload content.
	Detail string

	// run and activityID let Fetch fill in a pending step's attempt from the server.
	run        int
	activityID string
}

// StartToClose is how long a step's last attempt ran, once it had its wallet-rpc.
func (e Entry) StartToClose() time.Duration { return e.Duration - e.Wait }

// Timeline is the history of one escrow, every run of its workflow ID, oldest first.
type Timeline struct {
	EscrowID   string
	WorkflowID string
	// Runs lists the run IDs, oldest first (more than one after continue-as-new).
	Runs []string
	// Entries are in order of their Start.
	Entries []Entry
}

// FromHistory builds the timeline of one workflow ID from its events. events may hold
// several runs one after the other (each begins with WorkflowExecutionStarted), as Fetch
// passes them; event IDs restart with every run. It is pure: no client, no clock.
func FromHistory(workflowID string, events []*historypb.HistoryEvent) (Timeline, error) {
	t := Timeline{WorkflowID: workflowID, EscrowID: strings.TrimPrefix(workflowID, escrow.WorkflowID(""))}
	if len(events) == 0 {
		return t, fmt.Errorf("timeline of %s: no events", workflowID)
	}
	if events[0].GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED {
		return t, fmt.Errorf("timeline of %s: history starts with %s, want WorkflowExecutionStarted", workflowID, events[0].GetEventType())
	}
	b := &builder{t: &t, run: -1}
	for i, e := range events {
		if err := b.add(e); err != nil {
			return t, fmt.Errorf("timeline of %s: event %d (#%d %s): %w", workflowID, i, e.GetEventId(), e.GetEventType(), err)
		}
	}
	// A local activity's row starts before the marker that records it; everything else
	// is already in order, and a stable sort keeps history's order for equal times.
	sort.SliceStable(t.Entries, func(i, j int) bool { return t.Entries[i].Start.Before(t.Entries[j].Start) })
	return t, nil
}

// builder walks the events. Open rows are found again by the event ID that opened them;
// those maps are per run because event IDs restart with each run, while the escrow's
// search attributes (which name timers and local activities) carry over.
type builder struct {
	t          *Timeline
	run        int
	runStart   time.Time
	steps      map[int64]int // ActivityTaskScheduled event ID → entry index
	timers     map[int64]int // TimerStarted event ID → entry index
	updates    map[int64]int // UpdateAccepted event ID → entry index
	attrs      attrs
	prev, prv2 enumspb.EventType // the two events before this one
	taskStart  time.Time         // start of the workflow task (chain) now running
}

func (b *builder) add(e *historypb.HistoryEvent) error {
	at := e.GetEventTime().AsTime()
	defer func() { b.prv2, b.prev = b.prev, e.GetEventType() }()
	switch e.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
		a := e.GetWorkflowExecutionStartedEventAttributes()
		b.run, b.runStart = b.run+1, at
		b.steps, b.timers, b.updates = map[int64]int{}, map[int64]int{}, map[int64]int{}
		if id := a.GetOriginalExecutionRunId(); id != "" {
			b.t.Runs = append(b.t.Runs, id)
		}
		b.attrs.apply(a.GetSearchAttributes().GetIndexedFields())
		detail := fmt.Sprintf("%s on %s", a.GetWorkflowType().GetName(), a.GetTaskQueue().GetName())
		if prev := a.GetContinuedExecutionRunId(); prev != "" {
			detail += ", continued from run " + prev
		}
		if a.GetAttempt() > 1 {
			detail += fmt.Sprintf(", attempt %d", a.GetAttempt())
		}
		if s := b.attrs.String(); s != "" {
			detail += ", " + s
		}
		b.entry(Entry{Kind: KindWorkflow, Name: "started", Start: at, Detail: detail})

	case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
		// A local activity runs inside a workflow task; a task that only heartbeats (a long
		// local activity) follows the previous one directly, so the span goes on.
		if b.prev != enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED || b.prv2 != enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED || b.taskStart.IsZero() {
			b.taskStart = at
		}
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
		a := e.GetWorkflowTaskFailedEventAttributes()
		b.entry(Entry{Kind: KindWorkflow, Name: "workflow task", Start: at,
			Result: "failed: " + a.GetCause().String(), Detail: failureTypes(a.GetFailure())})
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
		b.entry(Entry{Kind: KindWorkflow, Name: "workflow task", Start: at, Result: ResultTimedOut})

	case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
		a := e.GetActivityTaskScheduledEventAttributes()
		en := Entry{Kind: KindStep, Name: a.GetActivityType().GetName(), Start: at, Result: ResultPending, activityID: a.GetActivityId()}
		if q := a.GetTaskQueue().GetName(); strings.HasPrefix(q, escrow.WalletTaskQueue("")) {
			en.Instance = strings.TrimPrefix(q, escrow.WalletTaskQueue(""))
		} else {
			en.Detail = "queue " + q
		}
		b.steps[e.GetEventId()] = b.entry(en)
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
		a := e.GetActivityTaskStartedEventAttributes()
		en, err := b.open(b.steps, a.GetScheduledEventId(), "activity")
		if err != nil {
			return err
		}
		en.Wait, en.Attempt = at.Sub(en.Start), a.GetAttempt()
		if a.GetAttempt() > 1 {
			en.Detail = join(en.Detail, fmt.Sprintf("retried after %s", failureKind(a.GetLastFailure())))
		}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
		return b.closeStep(e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId(), at, ResultOK, "")
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
		a := e.GetActivityTaskFailedEventAttributes()
		return b.closeStep(a.GetScheduledEventId(), at, failed(a.GetFailure()), retryState(a.GetRetryState()))
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
		a := e.GetActivityTaskTimedOutEventAttributes()
		return b.closeStep(a.GetScheduledEventId(), at, ResultTimedOut, join(failureKind(a.GetFailure()), retryState(a.GetRetryState())))
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
		return b.closeStep(e.GetActivityTaskCanceledEventAttributes().GetScheduledEventId(), at, ResultCanceled, "")

	case enumspb.EVENT_TYPE_MARKER_RECORDED:
		b.marker(e, at)

	case enumspb.EVENT_TYPE_TIMER_STARTED:
		a := e.GetTimerStartedEventAttributes()
		b.timers[e.GetEventId()] = b.entry(Entry{Kind: KindTimer, Name: b.attrs.timerPurpose(), Start: at, Result: ResultPending,
			Detail: "timer " + a.GetStartToFireTimeout().AsDuration().String()})
	case enumspb.EVENT_TYPE_TIMER_FIRED:
		return b.closeTimer(e.GetTimerFiredEventAttributes().GetStartedEventId(), at, ResultFired)
	case enumspb.EVENT_TYPE_TIMER_CANCELED:
		// AwaitWithTimeout cancels its timer when the awaited change comes first.
		return b.closeTimer(e.GetTimerCanceledEventAttributes().GetStartedEventId(), at, ResultCanceled)

	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
		name := e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName()
		if name == "" {
			name = "update"
		}
		b.updates[e.GetEventId()] = b.entry(Entry{Kind: KindDecision, Name: name, Start: at, Result: ResultPending})
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
		a := e.GetWorkflowExecutionUpdateCompletedEventAttributes()
		en, err := b.open(b.updates, a.GetAcceptedEventId(), "update")
		if err != nil {
			return err
		}
		en.Duration, en.Result = at.Sub(en.Start), ResultOK
		if f := a.GetOutcome().GetFailure(); f != nil {
			en.Result = failed(f)
		}

	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
		b.entry(Entry{Kind: KindSignal, Name: e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName(), Start: at})

	case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
		fields := e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
		if b.attrs.apply(fields) {
			b.entry(Entry{Kind: KindPhase, Name: b.attrs.label(), Start: at, Detail: b.attrs.String()})
		}

	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
		b.end(at, "completed", ResultOK, "")
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		f := e.GetWorkflowExecutionFailedEventAttributes().GetFailure()
		b.end(at, "failed", failed(f), failureTypes(f))
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		b.end(at, "continued-as-new", ResultOK, "next run "+e.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId())
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
		b.end(at, "timed out", ResultTimedOut, "")
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
		b.end(at, "canceled", ResultCanceled, "")
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
		// The reason is free text an operator typed; it is not a payload, but keep it short.
		b.end(at, "terminated", "terminated", clip(e.GetWorkflowExecutionTerminatedEventAttributes().GetReason()))
	}
	return nil
}

// marker adds a local activity's row. Its marker data (type, attempt) is an encrypted
// payload, so the name comes from context: this workflow's only local activity leases the
// wallet-rpc instances before the first phase change. The marker is written when the
// workflow task completes; the activity ran from that task's start.
func (b *builder) marker(e *historypb.HistoryEvent, at time.Time) {
	a := e.GetMarkerRecordedEventAttributes()
	if a.GetMarkerName() != "LocalActivity" {
		return // version and side-effect markers are bookkeeping, not time spent
	}
	name := "local activity"
	if b.attrs.phase == "" || b.attrs.phase == string(escrow.PhaseNotStarted) {
		name = "AssignWalletRPCs"
	}
	start := b.taskStart
	if start.IsZero() || start.After(at) {
		start = at
	}
	en := Entry{Kind: KindLocal, Name: name, Start: start, Duration: at.Sub(start), Result: ResultOK}
	if f := a.GetFailure(); f != nil {
		en.Result = failed(f)
	}
	b.entry(en)
}

func (b *builder) entry(e Entry) int {
	e.run = b.run
	b.t.Entries = append(b.t.Entries, e)
	return len(b.t.Entries) - 1
}

func (b *builder) open(m map[int64]int, id int64, what string) (*Entry, error) {
	i, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("refers to %s event #%d, which is not in this run's history", what, id)
	}
	return &b.t.Entries[i], nil
}

func (b *builder) closeStep(id int64, at time.Time, result, detail string) error {
	en, err := b.open(b.steps, id, "activity")
	if err != nil {
		return err
	}
	en.Duration, en.Result, en.Detail = at.Sub(en.Start), result, join(en.Detail, detail)
	if en.Attempt == 0 {
		en.Wait = en.Duration // closed without a start: canceled or timed out in the queue
	}
	return nil
}

func (b *builder) closeTimer(id int64, at time.Time, result string) error {
	en, err := b.open(b.timers, id, "timer")
	if err != nil {
		return err
	}
	en.Duration, en.Result = at.Sub(en.Start), result
	return nil
}

// end adds the row that closes a run; its duration is the run's length.
func (b *builder) end(at time.Time, name, result, detail string) {
	b.entry(Entry{Kind: KindWorkflow, Name: name, Start: at, Duration: at.Sub(b.runStart), Result: result, Detail: detail})
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
