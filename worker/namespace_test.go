package worker

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/xmr-escrow/xmr-escrow/codec"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/searchattr"
	"github.com/xmr-escrow/xmr-escrow/keyring"
)

const testNS = "escrows"

// fakeNamespace is a namespace as the check sees it; the embedded interfaces panic on any
// call the check should not make.
type fakeNamespace struct {
	client.Client
	ops *fakeOperator
	wfs *fakeWorkflows
}

func (f *fakeNamespace) OperatorService() operatorservice.OperatorServiceClient { return f.ops }
func (f *fakeNamespace) WorkflowService() workflowservice.WorkflowServiceClient { return f.wfs }

type fakeOperator struct {
	operatorservice.OperatorServiceClient
	attrs map[string]enumspb.IndexedValueType
	err   error
}

func (f *fakeOperator) ListSearchAttributes(_ context.Context, req *operatorservice.ListSearchAttributesRequest, _ ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error) {
	if req.GetNamespace() != testNS {
		return nil, serviceerror.NewNamespaceNotFound(req.GetNamespace())
	}
	return &operatorservice.ListSearchAttributesResponse{CustomAttributes: f.attrs}, f.err
}

type fakeWorkflows struct {
	workflowservice.WorkflowServiceClient
	retention time.Duration
	// running and closed are the escrows each query finds; input is their first event's.
	running, closed []*workflowpb.WorkflowExecutionInfo
	input           *commonpb.Payloads
	listErr         error
	queries         []string
}

func (f *fakeWorkflows) DescribeNamespace(_ context.Context, req *workflowservice.DescribeNamespaceRequest, _ ...grpc.CallOption) (*workflowservice.DescribeNamespaceResponse, error) {
	if req.GetNamespace() != testNS {
		return nil, serviceerror.NewNamespaceNotFound(req.GetNamespace())
	}
	return &workflowservice.DescribeNamespaceResponse{Config: &namespacepb.NamespaceConfig{
		WorkflowExecutionRetentionTtl: durationpb.New(f.retention),
	}}, nil
}

func (f *fakeWorkflows) ListWorkflowExecutions(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest, _ ...grpc.CallOption) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.queries = append(f.queries, req.GetQuery())
	if f.listErr != nil {
		return nil, f.listErr
	}
	found := f.closed
	if req.GetQuery() == escrowQueries[0] {
		found = f.running
	}
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: found[:min(len(found), int(req.GetPageSize()))]}, nil
}

func (f *fakeWorkflows) GetWorkflowExecutionHistory(_ context.Context, req *workflowservice.GetWorkflowExecutionHistoryRequest, _ ...grpc.CallOption) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	start := &historypb.HistoryEvent{
		EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			WorkflowType: &commonpb.WorkflowType{Name: escrow.WorkflowType}, Input: f.input,
		}},
	}
	return &workflowservice.GetWorkflowExecutionHistoryResponse{History: &historypb.History{Events: []*historypb.HistoryEvent{start}}}, nil
}

func testKeyring(t *testing.T, id string) *keyring.Keyring {
	t.Helper()
	k, _, err := keyring.Generate(id)
	require.NoError(t, err)
	return k
}

// readyNamespace has everything, and one running escrow started with keys.
func readyNamespace(t *testing.T, keys *keyring.Keyring) *fakeNamespace {
	t.Helper()
	attrs := map[string]enumspb.IndexedValueType{"CustomKeywordField": enumspb.INDEXED_VALUE_TYPE_KEYWORD}
	for name, typ := range escrow.SearchAttributeTypes {
		attrs[name] = searchattr.Parse(typ)
	}
	return &fakeNamespace{
		ops: &fakeOperator{attrs: attrs},
		wfs: &fakeWorkflows{retention: escrow.MinRetention, running: []*workflowpb.WorkflowExecutionInfo{execution("order-1")},
			input: sealedInput(t, codec.DataConverter(keys))},
	}
}

func execution(escrowID string) *workflowpb.WorkflowExecutionInfo {
	return &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: escrow.WorkflowID(escrowID), RunId: "run-1"}}
}

func sealedInput(t *testing.T, dc converter.DataConverter) *commonpb.Payloads {
	t.Helper()
	p, err := dc.ToPayloads(escrow.EscrowInput{EscrowID: "order-1", Order: escrow.Order{OrderID: "o-1", AmountAtomic: 1}})
	require.NoError(t, err)
	return p
}

// notReady runs the check and returns its NamespaceError, failing if there is none.
func notReady(t *testing.T, c client.Client, o NamespaceCheck) *NamespaceError {
	t.Helper()
	err := CheckNamespace(context.Background(), c, o)
	require.ErrorIs(t, err, ErrNamespaceNotReady)
	var ne *NamespaceError
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, testNS, ne.Namespace)
	return ne
}

func TestCheckNamespacePassesAReadyNamespaceAndLogsIt(t *testing.T) {
	keys := testKeyring(t, "k1")
	c := readyNamespace(t, keys)
	core, logs := observer.New(zap.InfoLevel)
	require.NoError(t, CheckNamespace(context.Background(), c, NamespaceCheck{Namespace: testNS, Keys: keys, Logger: zap.New(core)}))
	assert.Equal(t, escrowQueries[:1], c.wfs.queries, "a running escrow is read first; none other is listed")
	entries := logs.FilterMessage("namespace checked").AllUntimed()
	require.Len(t, entries, 1)
	fields := entries[0].ContextMap()
	assert.Equal(t, escrow.MinRetention, fields["retention"])
	assert.EqualValues(t, len(escrow.SearchAttributeTypes), fields["search_attributes"])
	assert.Equal(t, escrow.WorkflowID("order-1"), fields["escrow_probed"])
}

func TestCheckNamespacePassesAnEmptyNamespaceAndReadsAClosedEscrow(t *testing.T) {
	keys := testKeyring(t, "k1")
	c := readyNamespace(t, keys)
	c.wfs.running = nil
	require.NoError(t, CheckNamespace(context.Background(), c, NamespaceCheck{Namespace: testNS, Keys: keys}))
	assert.Equal(t, escrowQueries, c.wfs.queries, "no running escrow: the newest closed one is read")

	c.wfs.closed = []*workflowpb.WorkflowExecutionInfo{execution("order-0")}
	c.wfs.input = sealedInput(t, codec.DataConverter(testKeyring(t, "other")))
	ne := notReady(t, c, NamespaceCheck{Namespace: testNS, Keys: keys})
	assert.Contains(t, ne.Error(), escrow.WorkflowID("order-0"))
}

func TestCheckNamespaceRefusesMissingSearchAttributes(t *testing.T) {
	keys := testKeyring(t, "k1")
	c := readyNamespace(t, keys)
	delete(c.ops.attrs, escrow.SearchAttrPhase.GetName())
	delete(c.ops.attrs, escrow.SearchAttrForkRisk.GetName())
	ne := notReady(t, c, NamespaceCheck{Namespace: testNS, Keys: keys})
	require.Len(t, ne.Problems, 1)
	assert.Equal(t, CheckSearchAttributes, ne.Problems[0].Check)
	msg := ne.Error()
	assert.Contains(t, msg, "missing EscrowForkRisk, EscrowPhase")
	assert.Equal(t, "temporal operator search-attribute create --namespace escrows --name EscrowForkRisk --type Bool && "+
		"temporal operator search-attribute create --namespace escrows --name EscrowPhase --type Keyword", ne.Problems[0].Fix)
	assert.Contains(t, msg, "temporal-bootstrap")
}

func TestCheckNamespaceRefusesASearchAttributeOfAnotherType(t *testing.T) {
	keys := testKeyring(t, "k1")
	c := readyNamespace(t, keys)
	c.ops.attrs[escrow.SearchAttrInstances.GetName()] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	ne := notReady(t, c, NamespaceCheck{Namespace: testNS, Keys: keys})
	require.Len(t, ne.Problems, 1)
	assert.Equal(t, CheckSearchAttributes, ne.Problems[0].Check)
	assert.Equal(t, "EscrowInstances is a Keyword, escrows write a KeywordList", ne.Problems[0].Detail)
	assert.Contains(t, ne.Problems[0].Fix, "temporal operator search-attribute remove --namespace escrows --name EscrowInstances")
	assert.Contains(t, ne.Problems[0].Fix, "temporal operator search-attribute create --namespace escrows --name EscrowInstances --type KeywordList")
}

func TestCheckNamespaceRefusesAShortRetention(t *testing.T) {
	keys := testKeyring(t, "k1")
	c := readyNamespace(t, keys)
	c.wfs.retention = 720 * time.Hour // the compose stack's
	ne := notReady(t, c, NamespaceCheck{Namespace: testNS, Keys: keys})
	require.Len(t, ne.Problems, 1)
	assert.Equal(t, CheckRetention, ne.Problems[0].Check)
	assert.Contains(t, ne.Problems[0].Detail, "closed runs are kept 720h, less than the 768h")
	assert.Equal(t, "temporal operator namespace update --namespace escrows --retention 768h", ne.Problems[0].Fix)
	assert.Contains(t, ne.Error(), "temporal-bootstrap")
}

func TestCheckNamespaceRefusesAnEscrowItsKeysCannotOpen(t *testing.T) {
	keys := testKeyring(t, "k1")
	for name, tc := range map[string]struct {
		dc   converter.DataConverter
		want error
	}{
		"another key":        {codec.DataConverter(testKeyring(t, "k2")), keyring.ErrUnknownKey},
		"same id, other key": {codec.DataConverter(testKeyring(t, "k1")), keyring.ErrDecrypt},
		"never encrypted":    {converter.GetDefaultDataConverter(), codec.ErrPlaintext},
	} {
		t.Run(name, func(t *testing.T) {
			c := readyNamespace(t, keys)
			c.wfs.input = sealedInput(t, tc.dc)
			ne := notReady(t, c, NamespaceCheck{Namespace: testNS, Keys: keys})
			require.Len(t, ne.Problems, 1)
			assert.Equal(t, CheckPayloadKeys, ne.Problems[0].Check)
			assert.ErrorIs(t, ne, tc.want)
			assert.Contains(t, ne.Error(), "cannot open the input of escrow "+escrow.WorkflowID("order-1"))
			assert.Contains(t, ne.Error(), "$"+keyring.EnvKeys)
			assert.NotContains(t, ne.Error(), "temporal-bootstrap", "bootstrap cannot fix keys")
		})
	}
}

func TestCheckNamespaceRefusesAProbeItsKeysCannotOpen(t *testing.T) {
	keys := testKeyring(t, "k1")
	c := readyNamespace(t, keys)
	ne := notReady(t, c, NamespaceCheck{Namespace: testNS, Keys: keys, DataConverter: codec.DataConverter(testKeyring(t, "k2"))})
	require.Len(t, ne.Problems, 1)
	assert.Equal(t, CheckPayloadKeys, ne.Problems[0].Check)
	assert.ErrorIs(t, ne, keyring.ErrUnknownKey)
	assert.Contains(t, ne.Error(), "cannot open what its own client seals")

	ne = notReady(t, c, NamespaceCheck{Namespace: testNS, Keys: keys, DataConverter: converter.GetDefaultDataConverter()})
	assert.Contains(t, ne.Error(), "does not encrypt payloads")
}

func TestCheckNamespaceListsEveryProblemAtOnce(t *testing.T) {
	keys := testKeyring(t, "k1")
	c := readyNamespace(t, keys)
	c.ops.attrs = nil
	c.wfs.retention = 24 * time.Hour
	c.wfs.input = sealedInput(t, codec.DataConverter(testKeyring(t, "k2")))
	ne := notReady(t, c, NamespaceCheck{Namespace: testNS, Keys: keys})
	t.Log(ne)
	for _, check := range []string{CheckSearchAttributes, CheckRetention, CheckPayloadKeys} {
		assert.True(t, ne.Has(check), check)
	}
}

func TestCheckNamespaceWalletsOnlyChecksOnlyTheKeys(t *testing.T) {
	keys := testKeyring(t, "k1")
	c := readyNamespace(t, keys)
	c.ops = nil // an operator call would panic
	c.wfs.retention = time.Hour
	core, logs := observer.New(zap.InfoLevel)
	o := NamespaceCheck{Namespace: testNS, Keys: keys, WalletsOnly: true, Logger: zap.New(core)}
	require.NoError(t, CheckNamespace(context.Background(), c, o))

	c.wfs.listErr = serviceerror.NewPermissionDenied("visibility is the marketplace's", "")
	require.NoError(t, CheckNamespace(context.Background(), c, o), "a participant may not list escrows")
	assert.Equal(t, 1, logs.FilterMessage("cannot list the namespace's escrows; their payloads were not tried with this worker's keys").Len())

	c.wfs.listErr = nil
	c.wfs.input = sealedInput(t, codec.DataConverter(testKeyring(t, "k2")))
	ne := notReady(t, c, o)
	assert.True(t, ne.Has(CheckPayloadKeys))
}

func TestCheckNamespaceReturnsFailedCallsAsThemselves(t *testing.T) {
	keys := testKeyring(t, "k1")
	c := readyNamespace(t, keys)
	c.ops.err = serviceerror.NewPermissionDenied("no operator rights", "")
	err := CheckNamespace(context.Background(), c, NamespaceCheck{Namespace: testNS, Keys: keys})
	var denied *serviceerror.PermissionDenied
	require.ErrorAs(t, err, &denied)
	assert.NotErrorIs(t, err, ErrNamespaceNotReady, "nothing was found missing: the check could not look")
	assert.Contains(t, err.Error(), "check namespace escrows: list search attributes")

	c = readyNamespace(t, keys)
	c.wfs.listErr = serviceerror.NewPermissionDenied("no visibility", "")
	err = CheckNamespace(context.Background(), c, NamespaceCheck{Namespace: testNS, Keys: keys})
	require.ErrorAs(t, err, &denied, "an escrow worker needs visibility anyway (leases, block watcher)")

	err = CheckNamespace(context.Background(), c, NamespaceCheck{Namespace: "other", Keys: keys})
	var nf *serviceerror.NamespaceNotFound
	require.ErrorAs(t, err, &nf)
	assert.True(t, errors.As(err, &nf))
	require.Error(t, CheckNamespace(context.Background(), c, NamespaceCheck{Namespace: testNS}), "no keys")
}

func TestSearchAttributeTypesAllParse(t *testing.T) {
	for name, typ := range maps.All(escrow.SearchAttributeTypes) {
		assert.NotEqual(t, enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED, searchattr.Parse(typ), name)
	}
}
