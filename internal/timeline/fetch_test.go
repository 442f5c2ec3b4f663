package timeline_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/timeline"
)

// fakeClient serves histories by run ID; the embedded interface panics on anything else,
// so the test also proves Fetch needs only describe and history.
type fakeClient struct {
	client.Client
	latest  string
	runs    map[string][]*historypb.HistoryEvent
	pending []*workflowpb.PendingActivityInfo
	read    []string
}

func (f *fakeClient) DescribeWorkflow(_ context.Context, wid, runID string) (*client.WorkflowExecutionDescription, error) {
	if wid != escrow.WorkflowID("order-42") || runID != "" {
		return nil, serviceerror.NewNotFound("no such workflow")
	}
	return &client.WorkflowExecutionDescription{RawResponse: &workflowservice.DescribeWorkflowExecutionResponse{
		WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: wid, RunId: f.latest}},
		PendingActivities:     f.pending,
	}}, nil
}

func (f *fakeClient) GetWorkflowHistory(_ context.Context, _, runID string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	f.read = append(f.read, runID)
	return &iterator{events: f.runs[runID]}
}

type iterator struct{ events []*historypb.HistoryEvent }

func (it *iterator) HasNext() bool { return len(it.events) > 0 }

func (it *iterator) Next() (*historypb.HistoryEvent, error) {
	e := it.events[0]
	it.events = it.events[1:]
	return e, nil
}

func newFake(latest string) *fakeClient {
	run1, run2 := escrowRuns()
	return &fakeClient{latest: latest, runs: map[string][]*historypb.HistoryEvent{"run-1": run1, "run-2": run2}}
}

func TestFetchFollowsContinueAsNewAndAsksForPendingAttempts(t *testing.T) {
	c := newFake("run-2")
	c.pending = []*workflowpb.PendingActivityInfo{{
		ActivityId: "7", ActivityType: &commonpb.ActivityType{Name: "CheckFunding"}, Attempt: 6,
		State: enumspb.PENDING_ACTIVITY_STATE_SCHEDULED, LastFailure: appFailure("WalletUnavailable"),
	}}
	tl, err := timeline.Fetch(context.Background(), c, "order-42")
	require.NoError(t, err)
	assert.Equal(t, []string{"run-2", "run-1"}, c.read, "back from the latest run")
	assert.Equal(t, []string{"run-1", "run-2"}, tl.Runs, "oldest first")
	assert.Equal(t, "order-42", tl.EscrowID)
	last := tl.Entries[len(tl.Entries)-1]
	assert.Equal(t, "CheckFunding", last.Name)
	assert.Equal(t, timeline.ResultPending, last.Result)
	assert.EqualValues(t, 6, last.Attempt, "a retrying step shows its attempt before history does")
	assert.Equal(t, "scheduled; previous attempt failed: WalletUnavailable", last.Detail)
}

func TestFetchCatchesARunThatContinuedWhileItRead(t *testing.T) {
	c := newFake("run-1") // described before run-1 continued as new
	tl, err := timeline.Fetch(context.Background(), c, "order-42")
	require.NoError(t, err)
	assert.Equal(t, []string{"run-1", "run-2"}, c.read)
	assert.Equal(t, []string{"run-1", "run-2"}, tl.Runs)
	assert.Zero(t, tl.Entries[len(tl.Entries)-1].Attempt, "the description was of another run: nothing filled in")
}

func TestFetchRefusesUnknownAndInvalidEscrows(t *testing.T) {
	_, err := timeline.Fetch(context.Background(), newFake("run-2"), "never-started")
	assert.True(t, errors.Is(err, timeline.ErrUnknownEscrow), "got %v", err)
	_, err = timeline.Fetch(context.Background(), newFake("run-2"), "../etc")
	assert.True(t, errors.Is(err, escrow.ErrInvalidID), "got %v", err)
}
