package starter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// The server enforces one run per escrow; these options are what ask it to.
func TestStartOptionsRejectDuplicates(t *testing.T) {
	o := StartOptions("o-1")
	assert.Equal(t, escrow.WorkflowID("o-1"), o.ID)
	assert.Equal(t, escrow.EscrowTaskQueue, o.TaskQueue)
	assert.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, o.WorkflowIDReusePolicy)
	assert.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL, o.WorkflowIDConflictPolicy)
	assert.True(t, o.WorkflowExecutionErrorWhenAlreadyStarted)
	assert.Equal(t, 2, o.TypedSearchAttributes.Size())
}
