package starter

import (
	"context"
	"fmt"
	"strings"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// ForkReport is what ForkOutlook did: the running escrows that may still hold money when the
// fork activates (flagged), how many were told, and those that could not be (with why).
type ForkReport struct {
	Told    int               `json:"told"`
	Flagged []string          `json:"flagged"`
	Failed  map[string]string `json:"failed,omitempty"`
}

// ForkOutlook tells every running escrow what is known of the next hard fork (its height,
// the chain's height now). Each escrow that may still hold money then flags itself: status
// fork_risk, search attribute EscrowForkRisk = true, metric xmr_escrow_fork_risk; the report
// lists them, for operators to settle before the fork. Sending it again with another height
// updates the flags.
func (s *Client) ForkOutlook(ctx context.Context, o escrow.ForkOutlook) (ForkReport, error) {
	if !o.Known() {
		return ForkReport{}, fmt.Errorf("fork outlook: the fork's height %d must be above the chain's height %d (and that above 0)", o.NextForkHeight, o.Height)
	}
	runs, err := s.listRuns(ctx, fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", escrow.WorkflowType), "running")
	if err != nil {
		return ForkReport{}, err
	}
	rep := ForkReport{Flagged: []string{}}
	for _, r := range runs {
		id := strings.TrimPrefix(r.WorkflowID, escrow.WorkflowID(""))
		st, err := s.update(ctx, id, escrow.UpdateForkOutlook, o)
		if err != nil {
			if rep.Failed == nil {
				rep.Failed = map[string]string{}
			}
			rep.Failed[id] = err.Error()
			continue
		}
		rep.Told++
		if st.ForkRisk != nil {
			rep.Flagged = append(rep.Flagged, id)
		}
	}
	return rep, nil
}

// ListAtForkRisk asks Temporal's visibility for the running escrows flagged as running across
// the next hard fork (`EscrowForkRisk = true`): what operators settle first.
func (s *Client) ListAtForkRisk(ctx context.Context) ([]RunSummary, error) {
	return s.listRuns(ctx, fmt.Sprintf("%s = true AND ExecutionStatus = 'Running'", escrow.SearchAttrForkRisk.GetName()), "at fork risk")
}
