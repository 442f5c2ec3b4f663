package worker

import (
	"context"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/codec"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/keyring"
)

// escrowQueries find one escrow whose input to read back: a running one first, whose
// workflow tasks this worker will decode, else the newest closed one.
var escrowQueries = []string{
	fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", escrow.WorkflowType),
	fmt.Sprintf("WorkflowType = '%s'", escrow.WorkflowType),
}

// checkPayloadKeys seals a probe with the client's converter and opens it with the worker's
// keys, then opens the input of one of the namespace's escrows, if there is one. It returns
// the workflow ID of the escrow read ("" when none was).
func checkPayloadKeys(ctx context.Context, c client.Client, o NamespaceCheck) ([]NamespaceProblem, string, error) {
	dc := codec.DataConverter(o.Keys)
	probe, err := o.DataConverter.ToPayloads(probeValue)
	if err != nil {
		return nil, "", fmt.Errorf("seal the payload probe: %w", err)
	}
	var back string
	switch err := dc.FromPayloads(probe, &back); {
	case !codec.IsEncrypted(probe.GetPayloads()[0]):
		return []NamespaceProblem{{Check: CheckPayloadKeys, Detail: "the client's data converter does not encrypt payloads",
			Fix: "dial with temporalclient.Dial, which gives the client codec.DataConverter(keys)"}}, "", nil
	case err != nil || back != probeValue:
		return []NamespaceProblem{{Check: CheckPayloadKeys, Err: err,
			Detail: fmt.Sprintf("the worker's keys (%s) cannot open what its own client seals: %v", o.Keys, err),
			Fix:    fmt.Sprintf("give the client and the worker the same $%s", keyring.EnvKeys)}}, "", nil
	}

	wid, input, err := firstEscrowInput(ctx, c, o.Namespace)
	var denied *serviceerror.PermissionDenied
	if o.WalletsOnly && errors.As(err, &denied) {
		// A participant's worker may be allowed its task queues and nothing more: its keys
		// are then first tried on the first wallet step it is given.
		if o.Logger != nil {
			o.Logger.Warn("cannot list the namespace's escrows; their payloads were not tried with this worker's keys", zap.Error(err))
		}
		return nil, "", nil
	}
	if err != nil || input == nil {
		return nil, "", err
	}
	var in escrow.EscrowInput
	if err := dc.FromPayloads(input, &in); err != nil {
		return []NamespaceProblem{{Check: CheckPayloadKeys, Err: err,
			Detail: fmt.Sprintf("the worker's keys (%s) cannot open the input of escrow %s: %v (%s)", o.Keys, wid, err, why(err)),
			Fix: fmt.Sprintf("start the worker with the namespace's $%s: its current key first, and every older key that sealed "+
				"escrows still kept, after it (id:hex,id:hex)", keyring.EnvKeys)}}, wid, nil
	}
	return nil, wid, nil
}

// why explains a codec error to whoever has to pick the right keys.
func why(err error) string {
	switch {
	case errors.Is(err, keyring.ErrUnknownKey):
		return "it was sealed under a key this worker does not hold"
	case errors.Is(err, keyring.ErrDecrypt):
		return "a key of that id is held, but not the same key"
	case errors.Is(err, codec.ErrPlaintext):
		return "it was started by a client without payload encryption"
	}
	return "it is not a payload this codec made"
}

// firstEscrowInput finds one escrow (escrowQueries) and reads the input of its latest run
// from that run's first history event; no escrow yields a nil input.
func firstEscrowInput(ctx context.Context, c client.Client, ns string) (string, *commonpb.Payloads, error) {
	for _, q := range escrowQueries {
		list, err := c.WorkflowService().ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: ns, PageSize: 1, Query: q,
		})
		if err != nil {
			return "", nil, fmt.Errorf("list escrows (%s): %w", q, err)
		}
		if len(list.GetExecutions()) == 0 {
			continue
		}
		ex := list.GetExecutions()[0].GetExecution()
		hist, err := c.WorkflowService().GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
			Namespace: ns, Execution: ex, MaximumPageSize: 1, HistoryEventFilterType: enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT,
		})
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			continue // deleted since it was listed (its retention ended): nothing to read
		}
		if err != nil {
			return "", nil, fmt.Errorf("read the history of %s: %w", ex.GetWorkflowId(), err)
		}
		events := hist.GetHistory().GetEvents()
		if len(events) == 0 {
			continue
		}
		start := events[0].GetWorkflowExecutionStartedEventAttributes()
		if start == nil || len(start.GetInput().GetPayloads()) == 0 {
			return "", nil, fmt.Errorf("the first history event of %s is %s, not a start with an input", ex.GetWorkflowId(), events[0].GetEventType())
		}
		return ex.GetWorkflowId(), start.GetInput(), nil
	}
	return "", nil, nil
}
