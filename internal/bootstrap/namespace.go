package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/xmr-escrow/xmr-escrow/internal/searchattr"
)

// Services is what the namespace step calls on the frontend; client.Client gives both.
type Services interface {
	WorkflowService() workflowservice.WorkflowServiceClient
	OperatorService() operatorservice.OperatorServiceClient
}

// Namespace says what the escrows need of their namespace.
type Namespace struct {
	// Name is the namespace.
	Name string
	// Retention is the least time closed escrows stay readable. A namespace that keeps
	// them longer is left so: an operator's longer choice is never shortened.
	Retention time.Duration
	// SearchAttributes maps names to types (escrow.SearchAttributeTypes).
	SearchAttributes map[string]enums.IndexedValueType
	// Wait bounds how long to wait for a namespace just registered to become visible to
	// the frontend (it caches namespaces for some seconds); default 60 s.
	Wait time.Duration
}

// ErrWrongType is a search attribute that exists with another type; Temporal cannot change
// a type, so an operator must choose another namespace or remove the attribute.
var ErrWrongType = errors.New("search attribute has another type")

// pollEvery paces the waits for a new namespace and new attributes.
const pollEvery = 500 * time.Millisecond

// SetUpNamespace registers the namespace if missing, raises its retention if shorter than
// wanted, adds missing search attributes, then reads everything back. Run twice, the second
// run changes nothing.
func SetUpNamespace(ctx context.Context, c Services, n Namespace) ([]Step, error) {
	if n.Wait == 0 {
		n.Wait = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, n.Wait)
	defer cancel()
	ns, err := ensureNamespace(ctx, c, n)
	if err != nil {
		return nil, err
	}
	steps := []Step{ns}
	attrs, err := ensureAttributes(ctx, c, n)
	if err != nil {
		return steps, err
	}
	return append(steps, attrs...), Verify(ctx, c, n)
}

// ensureNamespace registers or updates the namespace's retention.
func ensureNamespace(ctx context.Context, c Services, n Namespace) (Step, error) {
	what := "namespace " + n.Name
	desc, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: n.Name})
	var nf *serviceerror.NamespaceNotFound
	switch {
	case errors.As(err, &nf):
		if _, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace:                        n.Name,
			Description:                      "xmr-escrow: 2-of-3 Monero multisig escrows",
			WorkflowExecutionRetentionPeriod: durationpb.New(n.Retention),
		}); err != nil {
			var exists *serviceerror.NamespaceAlreadyExists
			if !errors.As(err, &exists) { // another bootstrap won the race: fine
				return Step{}, fmt.Errorf("bootstrap: register namespace %s: %w", n.Name, err)
			}
		}
		return Step{What: what, Changed: true, Detail: "registered, retention " + n.Retention.String()}, nil
	case err != nil:
		return Step{}, fmt.Errorf("bootstrap: describe namespace %s: %w", n.Name, err)
	}
	have := desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
	if have >= n.Retention {
		return Step{What: what, Detail: "retention " + have.String()}, nil
	}
	if _, err := c.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace: n.Name,
		Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(n.Retention)},
	}); err != nil {
		return Step{}, fmt.Errorf("bootstrap: raise the retention of namespace %s to %s: %w", n.Name, n.Retention, err)
	}
	return Step{What: what, Changed: true, Detail: fmt.Sprintf("retention raised from %s to %s", have, n.Retention)}, nil
}

// ensureAttributes adds the search attributes the namespace lacks, in one call. A namespace
// just registered may not be visible yet to the frontend that answers: it waits for it.
func ensureAttributes(ctx context.Context, c Services, n Namespace) ([]Step, error) {
	for {
		have, err := listAttributes(ctx, c, n.Name)
		if err == nil {
			missing := map[string]enums.IndexedValueType{}
			var steps []Step
			for _, name := range slices.Sorted(maps.Keys(n.SearchAttributes)) {
				want := n.SearchAttributes[name]
				got, ok := have[name]
				switch {
				case !ok:
					missing[name] = want
					steps = append(steps, Step{What: "search attribute " + name, Changed: true, Detail: "added as " + want.String()})
				case got != want:
					return nil, fmt.Errorf("bootstrap: %w: %s is %s in namespace %s, the escrows need %s", ErrWrongType, name, got, n.Name, want)
				default:
					steps = append(steps, Step{What: "search attribute " + name, Detail: got.String()})
				}
			}
			if len(missing) == 0 {
				return steps, nil
			}
			if _, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
				Namespace: n.Name, SearchAttributes: missing,
			}); err == nil {
				return steps, nil
			}
		}
		if !retryable(err) {
			return nil, fmt.Errorf("bootstrap: search attributes of namespace %s: %w", n.Name, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bootstrap: search attributes of namespace %s: %w (last: %v)", n.Name, ctx.Err(), err)
		case <-time.After(pollEvery):
		}
	}
}

// Verify reads the namespace back: its retention and every search attribute with its type.
// A namespace that was just changed may take a moment to show it: it retries until ctx ends.
func Verify(ctx context.Context, c Services, n Namespace) error {
	for {
		err := verifyOnce(ctx, c, n)
		if err == nil || errors.Is(err, ErrWrongType) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bootstrap: verify namespace %s: %w", n.Name, err)
		case <-time.After(pollEvery):
		}
	}
}

func verifyOnce(ctx context.Context, c Services, n Namespace) error {
	desc, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: n.Name})
	if err != nil {
		return err
	}
	if have := desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); have < n.Retention {
		return fmt.Errorf("retention %s, want at least %s", have, n.Retention)
	}
	have, err := listAttributes(ctx, c, n.Name)
	if err != nil {
		return err
	}
	for name, want := range n.SearchAttributes {
		got, ok := have[name]
		if !ok {
			return fmt.Errorf("search attribute %s missing", name)
		}
		if got != want {
			return fmt.Errorf("%w: %s is %s, want %s", ErrWrongType, name, got, want)
		}
	}
	return queryable(ctx, c, n)
}

// queryable asks the frontend to count workflows by every attribute. The operator API reads
// the attributes from the database, but a start or a query is checked against the frontend's
// namespace cache, which learns of new attributes some seconds later: until then a start
// fails with "no mapping defined for search attribute". The namespace is ready when this
// query is accepted.
func queryable(ctx context.Context, c Services, n Namespace) error {
	var clauses []string
	for _, name := range slices.Sorted(maps.Keys(n.SearchAttributes)) {
		clauses = append(clauses, name+" = "+sampleValue(n.SearchAttributes[name]))
	}
	if len(clauses) == 0 {
		return nil
	}
	query := strings.Join(clauses, " OR ")
	if _, err := c.WorkflowService().CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: n.Name, Query: query}); err != nil {
		return fmt.Errorf("search attributes not usable yet (%s): %w", query, err)
	}
	return nil
}

// sampleValue is a literal of the type t, for a query that only has to be accepted.
func sampleValue(t enums.IndexedValueType) string {
	switch t {
	case enums.INDEXED_VALUE_TYPE_INT, enums.INDEXED_VALUE_TYPE_DOUBLE:
		return "0"
	case enums.INDEXED_VALUE_TYPE_BOOL:
		return "true"
	case enums.INDEXED_VALUE_TYPE_DATETIME:
		return "'2000-01-01T00:00:00Z'"
	default:
		return "'x'"
	}
}

func listAttributes(ctx context.Context, c Services, ns string) (map[string]enums.IndexedValueType, error) {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return nil, err
	}
	return resp.GetCustomAttributes(), nil
}

// retryable is what a namespace just registered answers until every frontend knows it.
func retryable(err error) bool {
	var nf *serviceerror.NamespaceNotFound
	var unavailable *serviceerror.Unavailable
	var notFound *serviceerror.NotFound
	return errors.As(err, &nf) || errors.As(err, &unavailable) || errors.As(err, &notFound)
}

// AttributeTypes parses a name → type-name map (escrow.SearchAttributeTypes: "Keyword",
// "KeywordList", ...) into the API's types.
func AttributeTypes(m map[string]string) (map[string]enums.IndexedValueType, error) {
	out := make(map[string]enums.IndexedValueType, len(m))
	for name, typ := range m {
		t := searchattr.Parse(typ)
		if t == enums.INDEXED_VALUE_TYPE_UNSPECIFIED {
			return nil, fmt.Errorf("bootstrap: search attribute %s: unknown type %q", name, typ)
		}
		out[name] = t
	}
	return out, nil
}
