package bootstrap

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
)

// fakeFrontend is a namespace store: the calls the bootstrap makes, nothing else.
type fakeFrontend struct {
	workflowservice.WorkflowServiceClient
	operatorservice.OperatorServiceClient
	retention *time.Duration // nil: no namespace
	attrs     map[string]enums.IndexedValueType
	updates   int
	// stale is how many more queries the frontend refuses, as one whose namespace cache has
	// not learnt the new attributes yet; queries are the ones it was asked.
	stale   int
	queries []string
}

func (f *fakeFrontend) WorkflowService() workflowservice.WorkflowServiceClient { return f }
func (f *fakeFrontend) OperatorService() operatorservice.OperatorServiceClient { return f }

func (f *fakeFrontend) DescribeNamespace(context.Context, *workflowservice.DescribeNamespaceRequest, ...grpc.CallOption) (*workflowservice.DescribeNamespaceResponse, error) {
	if f.retention == nil {
		return nil, serviceerror.NewNamespaceNotFound("escrows")
	}
	return &workflowservice.DescribeNamespaceResponse{Config: &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(*f.retention)}}, nil
}

func (f *fakeFrontend) RegisterNamespace(_ context.Context, r *workflowservice.RegisterNamespaceRequest, _ ...grpc.CallOption) (*workflowservice.RegisterNamespaceResponse, error) {
	d := r.GetWorkflowExecutionRetentionPeriod().AsDuration()
	f.retention = &d
	return &workflowservice.RegisterNamespaceResponse{}, nil
}

func (f *fakeFrontend) UpdateNamespace(_ context.Context, r *workflowservice.UpdateNamespaceRequest, _ ...grpc.CallOption) (*workflowservice.UpdateNamespaceResponse, error) {
	d := r.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
	f.retention, f.updates = &d, f.updates+1
	return &workflowservice.UpdateNamespaceResponse{}, nil
}

func (f *fakeFrontend) ListSearchAttributes(context.Context, *operatorservice.ListSearchAttributesRequest, ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error) {
	return &operatorservice.ListSearchAttributesResponse{CustomAttributes: f.attrs}, nil
}

func (f *fakeFrontend) AddSearchAttributes(_ context.Context, r *operatorservice.AddSearchAttributesRequest, _ ...grpc.CallOption) (*operatorservice.AddSearchAttributesResponse, error) {
	for k, v := range r.GetSearchAttributes() {
		f.attrs[k] = v
	}
	return &operatorservice.AddSearchAttributesResponse{}, nil
}

func (f *fakeFrontend) CountWorkflowExecutions(_ context.Context, r *workflowservice.CountWorkflowExecutionsRequest, _ ...grpc.CallOption) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	f.queries = append(f.queries, r.GetQuery())
	if f.stale > 0 {
		f.stale--
		return nil, serviceerror.NewInvalidArgument("Namespace escrows has no mapping defined for search attribute EscrowRound")
	}
	return &workflowservice.CountWorkflowExecutionsResponse{}, nil
}

var want = Namespace{Name: "escrows", Retention: 768 * time.Hour, Wait: time.Second, SearchAttributes: map[string]enums.IndexedValueType{
	"EscrowPhase": enums.INDEXED_VALUE_TYPE_KEYWORD, "EscrowRound": enums.INDEXED_VALUE_TYPE_INT,
}}

func changedSteps(steps []Step) int {
	n := 0
	for _, s := range steps {
		if s.Changed {
			n++
		}
	}
	return n
}

func TestTheSecondBootstrapChangesNothing(t *testing.T) {
	f := &fakeFrontend{attrs: map[string]enums.IndexedValueType{}}
	steps, err := SetUpNamespace(t.Context(), f, want)
	require.NoError(t, err)
	assert.Equal(t, 3, changedSteps(steps), "registered, and both attributes added")
	steps, err = SetUpNamespace(t.Context(), f, want)
	require.NoError(t, err)
	assert.Len(t, steps, 3)
	assert.Zero(t, changedSteps(steps), "%v", steps)
}

func TestAShortRetentionIsRaisedAndALongOneKept(t *testing.T) {
	short, long := 720*time.Hour, 2000*time.Hour
	f := &fakeFrontend{retention: &short, attrs: map[string]enums.IndexedValueType{}}
	steps, err := SetUpNamespace(t.Context(), f, want)
	require.NoError(t, err)
	assert.Equal(t, want.Retention, *f.retention)
	assert.Contains(t, steps[0].String(), "raised from 720h0m0s to 768h0m0s")

	f = &fakeFrontend{retention: &long, attrs: map[string]enums.IndexedValueType{}}
	_, err = SetUpNamespace(t.Context(), f, want)
	require.NoError(t, err)
	assert.Equal(t, long, *f.retention, "an operator's longer retention is never shortened")
	assert.Zero(t, f.updates)
}

func TestAnAttributeOfAnotherTypeIsRefused(t *testing.T) {
	long := 2000 * time.Hour
	f := &fakeFrontend{retention: &long, attrs: map[string]enums.IndexedValueType{"EscrowRound": enums.INDEXED_VALUE_TYPE_KEYWORD}}
	_, err := SetUpNamespace(t.Context(), f, want)
	require.ErrorIs(t, err, ErrWrongType)
	assert.Contains(t, err.Error(), "EscrowRound")
	assert.NotContains(t, f.attrs, "EscrowPhase", "nothing is added next to an attribute that cannot serve")
}

func TestAttributeTypesRefusesAnUnknownType(t *testing.T) {
	got, err := AttributeTypes(map[string]string{"EscrowInstances": "KeywordList"})
	require.NoError(t, err)
	assert.Equal(t, enums.INDEXED_VALUE_TYPE_KEYWORD_LIST, got["EscrowInstances"])
	_, err = AttributeTypes(map[string]string{"EscrowRound": "Integer"})
	require.Error(t, err)
	assert.False(t, errors.Is(err, ErrWrongType))
}

// TestTheBootstrapWaitsUntilAStartCouldUseTheAttributes: the operator API lists the new
// attributes at once, but the frontend refuses them in a query (and in a start) until its
// namespace cache catches up; the bootstrap is done only once a query by every attribute is
// accepted.
func TestTheBootstrapWaitsUntilAStartCouldUseTheAttributes(t *testing.T) {
	f := &fakeFrontend{attrs: map[string]enums.IndexedValueType{}, stale: 2}
	patient := want
	patient.Wait = 10 * time.Second
	_, err := SetUpNamespace(t.Context(), f, patient)
	require.NoError(t, err)
	require.Len(t, f.queries, 3, "refused twice, then accepted")
	assert.Equal(t, "EscrowPhase = 'x' OR EscrowRound = 0", f.queries[2])

	f.stale = 1 << 20
	n := want
	n.Wait = 1200 * time.Millisecond
	_, err = SetUpNamespace(t.Context(), f, n)
	assert.ErrorContains(t, err, "search attributes not usable yet", "a frontend that never accepts them fails the bootstrap, saying why")
}
