package timeline_test

import (
	"strconv"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// t0 is the synthetic histories' first event.
var t0 = time.Date(2026, 11, 27, 0, 36, 51, 0, time.UTC)

// secret stands for a multisig message: it sits in every payload of the synthetic history
// (as the encrypting codec would leave it, unreadable to anyone without the key), and no
// timeline output may contain it.
const secret = "MultisigxV2R1secretkeymaterial"

func sealed() *commonpb.Payloads {
	return &commonpb.Payloads{Payloads: []*commonpb.Payload{{
		Metadata: map[string][]byte{"encoding": []byte("binary/encrypted")}, Data: []byte(secret),
	}}}
}

// history numbers events from 1 and stamps each with its offset from t0.
type history struct{ events []*historypb.HistoryEvent }

func (h *history) add(at time.Duration, typ enumspb.EventType, attrs func(*historypb.HistoryEvent)) int64 {
	e := &historypb.HistoryEvent{EventId: int64(len(h.events) + 1), EventType: typ, EventTime: timestamppb.New(t0.Add(at))}
	if attrs != nil {
		attrs(e)
	}
	h.events = append(h.events, e)
	return e.EventId
}

func searchAttrs(kv ...any) *commonpb.SearchAttributes {
	fields := map[string]*commonpb.Payload{}
	for i := 0; i < len(kv); i += 2 {
		p, err := converter.GetDefaultDataConverter().ToPayload(kv[i+1])
		if err != nil {
			panic(err)
		}
		fields[kv[i].(string)] = p
	}
	return &commonpb.SearchAttributes{IndexedFields: fields}
}

func (h *history) started(at time.Duration, runID, continuedFrom string, sa *commonpb.SearchAttributes) {
	h.add(at, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			WorkflowType: &commonpb.WorkflowType{Name: "Escrow"}, TaskQueue: &taskqueuepb.TaskQueue{Name: "escrow"},
			Input: sealed(), OriginalExecutionRunId: runID, ContinuedExecutionRunId: continuedFrom, Attempt: 1, SearchAttributes: sa,
		}}
	})
}

// task adds a workflow task: scheduled, started at at, completed 5 ms later.
func (h *history) task(at time.Duration) {
	h.add(at, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, nil)
	h.add(at, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, nil)
	h.add(at+5*time.Millisecond, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, nil)
}

func (h *history) upsert(at time.Duration, sa *commonpb.SearchAttributes) {
	h.add(at, enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes{UpsertWorkflowSearchAttributesEventAttributes: &historypb.UpsertWorkflowSearchAttributesEventAttributes{SearchAttributes: sa}}
	})
}

func (h *history) marker(at time.Duration) {
	h.add(at, enumspb.EVENT_TYPE_MARKER_RECORDED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
			MarkerName: "LocalActivity", Details: map[string]*commonpb.Payloads{"data": sealed(), "result": sealed()},
		}}
	})
}

func (h *history) scheduled(at time.Duration, activityType, queue string) int64 {
	return h.add(at, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityId: strconv.FormatInt(e.EventId, 10), ActivityType: &commonpb.ActivityType{Name: activityType},
			TaskQueue: &taskqueuepb.TaskQueue{Name: queue}, Input: sealed(),
		}}
	})
}

func (h *history) startedStep(at time.Duration, sched int64, attempt int32, last *failurepb.Failure) int64 {
	return h.add(at, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{
			ScheduledEventId: sched, Attempt: attempt, LastFailure: last,
		}}
	})
}

func (h *history) completed(at time.Duration, sched, started int64) {
	h.add(at, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{
			ScheduledEventId: sched, StartedEventId: started, Result: sealed(),
		}}
	})
}

func (h *history) failed(at time.Duration, sched, started int64, f *failurepb.Failure) {
	h.add(at, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskFailedEventAttributes{ActivityTaskFailedEventAttributes: &historypb.ActivityTaskFailedEventAttributes{
			ScheduledEventId: sched, StartedEventId: started, Failure: f, RetryState: enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE,
		}}
	})
}

func (h *history) timer(at, length, end time.Duration, fired bool) {
	id := h.add(at, enumspb.EVENT_TYPE_TIMER_STARTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_TimerStartedEventAttributes{TimerStartedEventAttributes: &historypb.TimerStartedEventAttributes{
			TimerId: "t", StartToFireTimeout: durationpb.New(length),
		}}
	})
	if fired {
		h.add(end, enumspb.EVENT_TYPE_TIMER_FIRED, func(e *historypb.HistoryEvent) {
			e.Attributes = &historypb.HistoryEvent_TimerFiredEventAttributes{TimerFiredEventAttributes: &historypb.TimerFiredEventAttributes{TimerId: "t", StartedEventId: id}}
		})
		return
	}
	h.add(end, enumspb.EVENT_TYPE_TIMER_CANCELED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_TimerCanceledEventAttributes{TimerCanceledEventAttributes: &historypb.TimerCanceledEventAttributes{TimerId: "t", StartedEventId: id}}
	})
}

func (h *history) update(at, end time.Duration, name string) {
	id := h.add(at, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes{WorkflowExecutionUpdateAcceptedEventAttributes: &historypb.WorkflowExecutionUpdateAcceptedEventAttributes{
			AcceptedRequest: &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "u1"}, Input: &updatepb.Input{Name: name, Args: sealed()}},
		}}
	})
	h.add(end, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowExecutionUpdateCompletedEventAttributes{WorkflowExecutionUpdateCompletedEventAttributes: &historypb.WorkflowExecutionUpdateCompletedEventAttributes{
			Meta: &updatepb.Meta{UpdateId: "u1"}, AcceptedEventId: id, Outcome: &updatepb.Outcome{Value: &updatepb.Outcome_Success{Success: sealed()}},
		}}
	})
}

func (h *history) continuedAsNew(at time.Duration, next string) {
	h.add(at, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowExecutionContinuedAsNewEventAttributes{WorkflowExecutionContinuedAsNewEventAttributes: &historypb.WorkflowExecutionContinuedAsNewEventAttributes{
			NewExecutionRunId: next, Input: sealed(),
		}}
	})
}

func appFailure(typ string) *failurepb.Failure {
	// As the project's failure converter writes it: the message moved into the sealed
	// encoded attributes.
	return &failurepb.Failure{Message: "Encoded failure", EncodedAttributes: sealed().Payloads[0],
		FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: typ}}}
}

// escrowRuns is a synthetic escrow of two runs: run-1 leases instances, creates two
// wallets (one after two failed attempts, one refused), waits a purge timer, takes a
// decision and continues as new; run-2 starts a funding poll that a payment cancels and
// leaves a funding check pending.
func escrowRuns() (run1, run2 []*historypb.HistoryEvent) {
	const ms = time.Millisecond
	h := &history{}
	h.started(0, "run-1", "", searchAttrs("EscrowPhase", "NotStarted", "EscrowRound", int64(0)))
	h.task(10 * ms)
	h.marker(200 * ms) // the lease ran from the task's start (10 ms) to here
	h.upsert(200*ms, searchAttrs("EscrowPhase", "Preparing", "EscrowRound", int64(0), "EscrowStatus", "setting_up", "EscrowEscalated", false))
	s1 := h.scheduled(200*ms, "CreateWallet", "wallet-rpc-rpc-1")
	s2 := h.scheduled(200*ms, "CreateWallet", "wallet-rpc-rpc-2")
	st2 := h.startedStep(300*ms, s2, 1, nil)
	h.failed(500*ms, s2, st2, appFailure("WalletRejected"))
	st1 := h.startedStep(5200*ms, s1, 3, appFailure("WalletUnavailable")) // 5 s waiting, two attempts lost
	h.completed(6200*ms, s1, st1)
	h.task(6300 * ms)
	h.upsert(6305*ms, searchAttrs("EscrowPhase", "Exchanging", "EscrowRound", int64(1), "EscrowStatus", "setting_up"))
	h.timer(6305*ms, 10*time.Second, 16305*ms, true)
	h.update(17*time.Second, 17500*ms, "confirm-receipt")
	h.upsert(18*time.Second, searchAttrs("EscrowPhase", "Ready", "EscrowRound", int64(3), "EscrowStatus", "awaiting_funding"))
	h.continuedAsNew(20*time.Second, "run-2")
	run1 = h.events

	h = &history{}
	h.started(20*time.Second, "run-2", "run-1", searchAttrs("EscrowPhase", "Ready", "EscrowRound", int64(3), "EscrowStatus", "awaiting_funding"))
	h.task(20 * time.Second)
	h.timer(20*time.Second, 30*time.Second, 21*time.Second, false)
	h.scheduled(21*time.Second, "CheckFunding", "wallet-rpc-rpc-3")
	return run1, h.events
}
