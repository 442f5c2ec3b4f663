package worker

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/xmr-escrow/xmr-escrow/activities/placement"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// fakeVisibility answers one page of escrows in setup.
type fakeVisibility struct {
	query string
	execs []*workflowpb.WorkflowExecutionInfo
}

func (f *fakeVisibility) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.query = req.Query
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: f.execs}, nil
}

func inSetup(t *testing.T, escrowID string, instances ...string) *workflowpb.WorkflowExecutionInfo {
	info := &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: escrow.WorkflowID(escrowID)}}
	if len(instances) > 0 {
		p, err := converter.GetDefaultDataConverter().ToPayload(instances)
		require.NoError(t, err)
		info.SearchAttributes = &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{escrow.SearchAttrInstances.GetName(): p}}
	}
	return info
}

func TestARestartedWorkerKeepsTheLeasesOfSetupsInFlight(t *testing.T) {
	pool, err := placement.New([]string{"w-1", "w-2", "w-3"})
	require.NoError(t, err)
	v := &fakeVisibility{execs: []*workflowpb.WorkflowExecutionInfo{
		inSetup(t, "in-flight", "w-1", "w-2", "w-3"),
		inSetup(t, "on-another-host", "x-1", "x-2", "x-3"),
		inSetup(t, "not-leased-yet"),
	}}
	escrows, leased, err := restore(context.Background(), v, pool)
	require.NoError(t, err)
	assert.Equal(t, 1, escrows)
	assert.Equal(t, 3, leased)
	assert.Contains(t, v.query, "EscrowPhase IN")
	_, err = pool.AssignWalletRPCs(context.Background(), placement.AssignInput{EscrowID: "newcomer"})
	assert.Error(t, err, "the setup in flight still holds every instance")
	got, err := pool.AssignWalletRPCs(context.Background(), placement.AssignInput{EscrowID: "in-flight"})
	require.NoError(t, err, "the setup in flight gets its own instances back")
	assert.True(t, got.Complete())
}
