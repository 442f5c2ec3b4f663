package worker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/activities/placement"
	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// leaseQuery finds the escrows whose setup may still use its instances: running, not yet
// Ready or Failed. Each recorded its instances in EscrowInstances when it leased them.
var leaseQuery = fmt.Sprintf("ExecutionStatus = 'Running' AND %s IN ('%s', '%s', '%s')",
	escrow.SearchAttrPhase.GetName(), escrow.PhaseNotStarted, escrow.PhasePreparing, escrow.PhaseExchanging)

// restoreLeases rebuilds the pool's leases after a restart from Temporal's visibility: the
// leases lived in the old process's memory, and without them a new setup could be given an
// instance whose wallet a running setup keeps open. It is best effort: if visibility cannot
// be read, a setup's lease still expires after placement.DefaultLeaseTTL at worst.
func (w *Worker) restoreLeases() {
	if w.pool == nil || w.client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	escrows, leased, err := restore(ctx, w.client, w.pool)
	if err != nil {
		w.log.Warn("could not rebuild wallet-rpc leases from visibility; setups in flight keep theirs until the lease TTL", zap.Error(err))
		return
	}
	w.log.Info("wallet-rpc leases rebuilt from the escrows in setup", zap.Int("escrows", escrows), zap.Int("instances", leased))
}

// lister is the part of the Temporal client restore needs.
type lister interface {
	ListWorkflow(ctx context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}

func restore(ctx context.Context, c lister, pool *placement.Pool) (escrows, leased int, err error) {
	var token []byte
	for {
		res, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: leaseQuery, NextPageToken: token})
		if err != nil {
			return escrows, leased, fmt.Errorf("list escrows in setup: %w", err)
		}
		for _, e := range res.Executions {
			p := e.GetSearchAttributes().GetIndexedFields()[escrow.SearchAttrInstances.GetName()]
			id, ok := strings.CutPrefix(e.GetExecution().GetWorkflowId(), escrow.WorkflowID(""))
			if p == nil || !ok {
				continue // not leased yet, or not an escrow
			}
			var instances []string
			if err := converter.GetDefaultDataConverter().FromPayload(p, &instances); err != nil {
				return escrows, leased, fmt.Errorf("decode %s of %s: %w", escrow.SearchAttrInstances.GetName(), id, err)
			}
			if n := pool.Restore(id, instances); n > 0 {
				escrows++
				leased += n
			}
		}
		if token = res.NextPageToken; len(token) == 0 {
			return escrows, leased, nil
		}
	}
}
