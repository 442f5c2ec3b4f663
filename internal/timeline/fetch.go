package timeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// ErrUnknownEscrow is returned by Fetch for an escrow ID no workflow exists for.
var ErrUnknownEscrow = errors.New("unknown escrow")

// maxRuns bounds the continue-as-new chain Fetch follows, so a corrupt chain (a run that
// names itself) cannot loop; a real escrow continues as new every 10 000 events.
const maxRuns = 1000

// Fetch reads every run of the escrow's workflow, oldest first, and builds its timeline.
// It walks back from the latest run through each run's "continued from" link, then
// forward, in case the latest run continued as new while it was reading. For a step still
// waiting or retrying, which history shows only once it ends, it asks the server for the
// current attempt.
func Fetch(ctx context.Context, c client.Client, escrowID string) (Timeline, error) {
	if err := escrow.ValidateID(escrowID); err != nil {
		return Timeline{}, err
	}
	wid := escrow.WorkflowID(escrowID)
	desc, err := c.DescribeWorkflow(ctx, wid, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return Timeline{}, fmt.Errorf("timeline of escrow %s: %w", escrowID, ErrUnknownEscrow)
	}
	if err != nil {
		return Timeline{}, fmt.Errorf("timeline of escrow %s: describe: %w", escrowID, err)
	}
	latest := desc.RawResponse.GetWorkflowExecutionInfo().GetExecution().GetRunId()

	var runs []string
	var histories [][]*historypb.HistoryEvent
	seen := map[string]bool{}
	for id := latest; id != "" && !seen[id]; {
		events, err := readRun(ctx, c, wid, id)
		if err != nil {
			return Timeline{}, err
		}
		seen[id] = true
		runs = append([]string{id}, runs...)
		histories = append([][]*historypb.HistoryEvent{events}, histories...)
		id = events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if len(runs) >= maxRuns {
			return Timeline{}, fmt.Errorf("timeline of escrow %s: more than %d runs", escrowID, maxRuns)
		}
	}
	for {
		last := histories[len(histories)-1]
		next := last[len(last)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
		if next == "" || seen[next] || len(runs) >= maxRuns {
			break
		}
		events, err := readRun(ctx, c, wid, next)
		if err != nil {
			return Timeline{}, err
		}
		seen[next] = true
		runs, histories = append(runs, next), append(histories, events)
	}

	var all []*historypb.HistoryEvent
	for _, h := range histories {
		all = append(all, h...)
	}
	t, err := FromHistory(wid, all)
	if err != nil {
		return t, err
	}
	t.EscrowID, t.Runs = escrowID, runs
	if runs[len(runs)-1] == latest {
		t.fillPending(desc.RawResponse.GetPendingActivities())
	}
	return t, nil
}

// readRun reads one run's whole history; the iterator pages through it.
func readRun(ctx context.Context, c client.Client, wid, runID string) ([]*historypb.HistoryEvent, error) {
	it := c.GetWorkflowHistory(ctx, wid, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s run %s: %w", wid, runID, err)
		}
		events = append(events, e)
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("history of %s run %s is empty", wid, runID)
	}
	return events, nil
}

// fillPending adds what only the server knows about the steps the latest run still waits
// for: history writes a step's start, and so its attempt, only when the step ends, which
// would hide the very step an operator looks for (one retrying against a dead wallet-rpc).
func (t *Timeline) fillPending(pending []*workflowpb.PendingActivityInfo) {
	byID := map[string]*workflowpb.PendingActivityInfo{}
	for _, p := range pending {
		byID[p.GetActivityId()] = p
	}
	last := 0
	for _, e := range t.Entries {
		last = max(last, e.run)
	}
	for i := range t.Entries {
		e := &t.Entries[i]
		p, ok := byID[e.activityID]
		if !ok || e.run != last || e.Kind != KindStep || e.Result != ResultPending {
			continue
		}
		e.Attempt = p.GetAttempt()
		state := strings.ToLower(p.GetState().String())
		if f := p.GetLastFailure(); f != nil {
			state += "; previous attempt " + failed(f)
		}
		e.Detail = join(e.Detail, state)
	}
}
