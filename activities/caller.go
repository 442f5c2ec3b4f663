package activities

import (
	"context"
	"fmt"
	"reflect"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// Only an escrow's own workflow can move its money. Anyone who can schedule activities in
// the namespace can put a step on a wallet-rpc's task queue, but the Temporal server, not the
// caller, says which workflow scheduled it: every wallet step names its escrow, and a step
// whose escrow is not its own workflow's is refused before it runs. A signature also has to
// match the payout that workflow recorded (CallerCheck). What neither stops, a client that
// holds the namespace's payload key and starts a workflow under an escrow's own ID, only
// authorization on the Temporal server can (docs/participant-isolation.md).

// CallerInterceptor refuses every wallet step not scheduled by the escrow workflow whose ID
// matches the step's input (its EscrowID field). Every wallet-rpc worker runs it.
func CallerInterceptor() interceptor.WorkerInterceptor { return &callerInterceptor{} }

type callerInterceptor struct {
	interceptor.WorkerInterceptorBase
}

func (c *callerInterceptor) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &callerInbound{}
	i.Next = next
	return i
}

type callerInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (c *callerInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	if err := checkCaller(activity.GetInfo(ctx), in.Args); err != nil {
		return nil, err
	}
	return c.Next.ExecuteActivity(ctx, in)
}

// checkCaller compares the scheduling workflow, as the server reports it, with the escrow
// the step's input names. An input that names none is refused too: every wallet step does.
func checkCaller(info activity.Info, args []any) error {
	typ := ""
	if info.WorkflowType != nil {
		typ = info.WorkflowType.Name
	}
	id, ok := "", false
	if len(args) > 0 {
		id, ok = escrowOf(args[0])
	}
	if ok && typ == escrow.WorkflowType && info.WorkflowExecution.ID == escrow.WorkflowID(id) {
		return nil
	}
	return nonRetryable(escrow.ErrTypeForeignCaller, fmt.Errorf(
		"refused: %s for escrow %q was scheduled by workflow %q of type %q, not by that escrow's own workflow",
		info.ActivityType.Name, id, info.WorkflowExecution.ID, typ))
}

// escrowOf reads the EscrowID field every wallet step's input carries.
func escrowOf(arg any) (string, bool) {
	v := reflect.ValueOf(arg)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return "", false
	}
	f := v.FieldByName("EscrowID")
	if !f.IsValid() || f.Kind() != reflect.String {
		return "", false
	}
	return f.String(), true
}

// Decisions reads, from an escrow's own workflow, the state it recorded (its status query):
// what it decided is the only payout its wallets sign.
type Decisions interface {
	DecidedState(ctx context.Context, escrowID string) (escrow.State, error)
}

// QueryDecisions reads the decision with the escrow workflow's status query.
type QueryDecisions struct {
	Client client.Client
}

// DecidedState asks the escrow's workflow for its status.
func (q QueryDecisions) DecidedState(ctx context.Context, escrowID string) (escrow.State, error) {
	var st escrow.State
	v, err := q.Client.QueryWorkflow(ctx, escrow.WorkflowID(escrowID), "", string(escrow.QueryStatus))
	if err == nil {
		err = v.Get(&st)
	}
	return st, err
}

// CallerCheck holds a signature to the payout its escrow's workflow decided.
type CallerCheck struct {
	// Decisions, if set, reads the decision; nil skips the check (a participant's worker
	// may not be allowed to query).
	Decisions Decisions
}

// checkDecided refuses to sign a payout that is not the one the escrow's workflow decided:
// its main payout or its late refund, with the same division (or, for payouts decided before
// escrow.ExactShares, the same address).
func (c CallerCheck) checkDecided(ctx context.Context, in SignPayoutInput) error {
	if c.Decisions == nil {
		return nil
	}
	st, err := c.Decisions.DecidedState(ctx, in.EscrowID)
	if err != nil {
		return fmt.Errorf("read the decision of escrow %s: %w", in.EscrowID, err)
	}
	for _, p := range []*escrow.Payout{st.Payout, st.LateRefund} {
		if p != nil && decidedAs(p, in) {
			return nil
		}
	}
	return nonRetryable(escrow.ErrTypeForeignCaller, fmt.Errorf("refused: escrow %s decided no payout like this one (to %.12s…)", in.EscrowID, in.Address))
}

// decidedAs reports whether the payout being signed is p.
func decidedAs(p *escrow.Payout, in SignPayoutInput) bool {
	if p.Division == nil || in.Division == nil {
		return p.Division == nil && in.Division == nil && p.Address == in.Address
	}
	a, b := *p.Division, *in.Division
	sameCut := a.Commission.Equal(b.Commission)
	a.Commission, b.Commission = nil, nil
	return a == b && sameCut
}
