// Package starter is the marketplace's client library: it starts an escrow (idempotently,
// by escrow ID), reads its status and waits for its result.
package starter

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// ErrUnknownEscrow is returned for an escrow ID no workflow exists for.
var ErrUnknownEscrow = errors.New("unknown escrow")

// Client starts and reads escrows.
type Client struct {
	c     client.Client
	store *store.Store
	// dc decodes history payloads; the SDK keeps the client's own converter private.
	dc converter.DataConverter
}

// New wraps a Temporal client (see temporalclient.Dial) and, for Get and List, the
// projection's store (nil: those reads return ErrNoDatabase). Give WithDataConverter the
// client's converter, or a repeated start cannot check the existing escrow's terms.
func New(c client.Client, s *store.Store, opts ...Option) *Client {
	cl := &Client{c: c, store: s, dc: converter.GetDefaultDataConverter()}
	for _, o := range opts {
		o(cl)
	}
	return cl
}

// Run identifies one escrow's workflow run.
type Run struct {
	EscrowID   string `json:"escrow_id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	// Existing is true when the escrow had already been started and this call started
	// nothing.
	Existing bool `json:"existing"`
}

// StartOptions are the options every escrow is started with: the workflow ID is derived
// from the escrow ID and a second start of the same ID is refused by the server, running or
// closed, so one escrow is one run.
func StartOptions(escrowID string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       escrow.WorkflowID(escrowID),
		TaskQueue:                                escrow.EscrowTaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			escrow.SearchAttrPhase.ValueSet(string(escrow.PhaseNotStarted)),
			escrow.SearchAttrRound.ValueSet(0),
		),
	}
}

// Start starts the escrow's workflow. If the escrow already exists (running or closed) with
// the same terms (see differingTerms), it returns that run with Existing set, so a retried
// start is harmless; with different terms it fails with ErrConflictingStart naming the
// fields. Either way the existing run keeps its own input.
func (s *Client) Start(ctx context.Context, in escrow.EscrowInput) (Run, error) {
	if err := in.Validate(); err != nil {
		return Run{}, err
	}
	opts := StartOptions(in.EscrowID)
	wr, err := s.c.ExecuteWorkflow(ctx, opts, escrow.WorkflowType, in)
	if err == nil {
		return Run{EscrowID: in.EscrowID, WorkflowID: wr.GetID(), RunID: wr.GetRunID()}, nil
	}
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.As(err, &already) {
		return Run{}, fmt.Errorf("start escrow %s: %w", in.EscrowID, err)
	}
	if err := s.checkSameTerms(ctx, in); err != nil {
		return Run{}, err
	}
	return Run{EscrowID: in.EscrowID, WorkflowID: opts.ID, RunID: already.RunId, Existing: true}, nil
}

// Status asks the escrow's workflow for its phase; it works on finished escrows too.
func (s *Client) Status(ctx context.Context, escrowID string) (escrow.State, error) {
	if err := escrow.ValidateID(escrowID); err != nil {
		return escrow.State{}, err
	}
	v, err := s.c.QueryWorkflow(ctx, escrow.WorkflowID(escrowID), "", string(escrow.QueryStatus))
	if err != nil {
		return escrow.State{}, s.wrap(escrowID, "query status", err)
	}
	var st escrow.State
	if err := v.Get(&st); err != nil {
		return escrow.State{}, fmt.Errorf("decode status of escrow %s: %w", escrowID, err)
	}
	return st, nil
}

// Wait blocks until the escrow's setup ends and returns its result, or the failure.
func (s *Client) Wait(ctx context.Context, escrowID string) (escrow.EscrowResult, error) {
	if err := escrow.ValidateID(escrowID); err != nil {
		return escrow.EscrowResult{}, err
	}
	var res escrow.EscrowResult
	if err := s.c.GetWorkflow(ctx, escrow.WorkflowID(escrowID), "").Get(ctx, &res); err != nil {
		return res, s.wrap(escrowID, "wait for", err)
	}
	return res, nil
}

func (s *Client) wrap(escrowID, what string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("%s escrow %s: %w", what, escrowID, ErrUnknownEscrow)
	}
	return fmt.Errorf("%s escrow %s: %w", what, escrowID, err)
}
