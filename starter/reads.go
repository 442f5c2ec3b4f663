package starter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// ErrNoDatabase is returned by reads that need the projection when none was configured.
var ErrNoDatabase = errors.New("no escrow database configured (set " + store.EnvDSN + ")")

// Escrow is the marketplace's view of one escrow, read from the Postgres projection. It
// holds nothing secret.
type Escrow struct {
	escrow.Summary
	WorkflowID string    `json:"workflow_id"`
	RunID      string    `json:"run_id"`
	Version    int64     `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func view(e store.Escrow) Escrow {
	return Escrow{
		Summary: escrow.Summary{
			EscrowID: e.EscrowID, Order: e.Order, Status: e.Status, Phase: e.Phase, Round: e.Round,
			Address: e.Address, Reason: e.State.Reason,
		},
		WorkflowID: e.WorkflowID, RunID: e.RunID,
		Version: e.Version, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
}

// Get reads one escrow from the projection. It lags the workflow by the projection's
// write; Status is the workflow's own answer.
func (s *Client) Get(ctx context.Context, escrowID string) (Escrow, error) {
	if err := escrow.ValidateID(escrowID); err != nil {
		return Escrow{}, err
	}
	if s.store == nil {
		return Escrow{}, ErrNoDatabase
	}
	e, err := s.store.Get(ctx, escrowID)
	if errors.Is(err, store.ErrNotFound) {
		return Escrow{}, fmt.Errorf("get escrow %s: %w", escrowID, ErrUnknownEscrow)
	}
	if err != nil {
		return Escrow{}, fmt.Errorf("get escrow %s: %w", escrowID, err)
	}
	return view(e), nil
}

// List reads escrows from the projection, filtered by status and/or phase.
func (s *Client) List(ctx context.Context, f store.Filter) ([]Escrow, error) {
	if s.store == nil {
		return nil, ErrNoDatabase
	}
	if f.Status != "" && !f.Status.Valid() {
		return nil, fmt.Errorf("list escrows: unknown status %q", f.Status)
	}
	rows, err := s.store.List(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list escrows: %w", err)
	}
	out := make([]Escrow, 0, len(rows))
	for _, r := range rows {
		out = append(out, view(r))
	}
	return out, nil
}

// RunSummary is one escrow workflow as Temporal's visibility sees it.
type RunSummary struct {
	WorkflowID string       `json:"workflow_id"`
	RunID      string       `json:"run_id"`
	Phase      escrow.Phase `json:"phase"`
	Round      int64        `json:"round"`
	Status     string       `json:"workflow_status"`
	// EscrowStatus and Blocked are the EscrowStatus and EscrowBlocked search attributes.
	EscrowStatus escrow.Status    `json:"escrow_status,omitempty"`
	Blocked      escrow.BlockCode `json:"blocked,omitempty"`
}

// ListByPhase asks Temporal's visibility for escrows in a phase (and, if round > 0, that
// round), through the search attributes, without a database. Visibility is eventually
// consistent: a phase change shows up within a second or so.
func (s *Client) ListByPhase(ctx context.Context, phase escrow.Phase, round int) ([]RunSummary, error) {
	known := false
	for _, p := range escrow.Phases {
		known = known || p == phase
	}
	if !known {
		return nil, fmt.Errorf("list escrows: unknown phase %q", phase)
	}
	query := fmt.Sprintf("%s = '%s'", escrow.SearchAttrPhase.GetName(), phase)
	if round > 0 {
		query += fmt.Sprintf(" AND %s = %d", escrow.SearchAttrRound.GetName(), round)
	}
	return s.listRuns(ctx, query, "in "+string(phase))
}

// ListByStatus asks Temporal's visibility for escrows with a status, e.g. every payout
// parked as payout_blocked; each summary carries the park's reason code.
func (s *Client) ListByStatus(ctx context.Context, status escrow.Status) ([]RunSummary, error) {
	if !status.Valid() {
		return nil, fmt.Errorf("list escrows: unknown status %q", status)
	}
	return s.listRuns(ctx, fmt.Sprintf("%s = '%s'", escrow.SearchAttrStatus.GetName(), status), string(status))
}

// listRuns pages through a visibility query. Search attributes are not encrypted: they
// hold only phase, round, status and the park's reason code.
func (s *Client) listRuns(ctx context.Context, query, what string) ([]RunSummary, error) {
	var out []RunSummary
	var token []byte
	for {
		res, err := s.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list escrows %s: %w", what, err)
		}
		for _, e := range res.Executions {
			sum := RunSummary{WorkflowID: e.Execution.WorkflowId, RunID: e.Execution.RunId, Status: e.Status.String()}
			fields := e.GetSearchAttributes().GetIndexedFields()
			decode := func(key string, v any) {
				if p := fields[key]; p != nil {
					_ = converter.GetDefaultDataConverter().FromPayload(p, v)
				}
			}
			decode(escrow.SearchAttrPhase.GetName(), &sum.Phase)
			decode(escrow.SearchAttrRound.GetName(), &sum.Round)
			decode(escrow.SearchAttrStatus.GetName(), &sum.EscrowStatus)
			decode(escrow.SearchAttrBlocked.GetName(), &sum.Blocked)
			out = append(out, sum)
		}
		if token = res.NextPageToken; len(token) == 0 {
			return out, nil
		}
	}
}
