package devstack_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/xmr-escrow/xmr-escrow/codec"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/searchattr"
	"github.com/xmr-escrow/xmr-escrow/internal/walletproc/proctest"
	"github.com/xmr-escrow/xmr-escrow/keyring"
	"github.com/xmr-escrow/xmr-escrow/worker"
)

// TestWorkerNamespaceCheckOnADevServer runs the worker's namespace check against a real
// server: a namespace without the escrow search attributes is refused with the command that
// adds them, passes once they are added (StartTemporal has raised its retention), and is
// refused again once it holds an escrow sealed under keys the worker lacks.
func TestWorkerNamespaceCheckOnADevServer(t *testing.T) {
	proctest.SkipShort(t)
	t.Parallel()
	srv, err := devstack.StartTemporal(t.Context(), devstack.TemporalOptions{Dir: t.TempDir(), Namespace: "bare", Headless: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	keys, spec, err := keyring.Generate("k1")
	require.NoError(t, err)
	c := dial(t, srv, keys)
	check := worker.NamespaceCheck{Namespace: srv.Namespace, Keys: keys}

	desc, err := c.WorkflowService().DescribeNamespace(t.Context(), &workflowservice.DescribeNamespaceRequest{Namespace: srv.Namespace})
	require.NoError(t, err)
	assert.Equal(t, escrow.MinRetention, desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(), "StartTemporal raises the retention")

	err = worker.CheckNamespace(t.Context(), c, check)
	require.ErrorIs(t, err, worker.ErrNamespaceNotReady)
	var ne *worker.NamespaceError
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Has(worker.CheckSearchAttributes))
	assert.False(t, ne.Has(worker.CheckRetention), "%v", err)
	assert.False(t, ne.Has(worker.CheckPayloadKeys), "%v", err)
	assert.Contains(t, err.Error(), "temporal operator search-attribute create --namespace bare --name EscrowEscalated --name EscrowForkRisk --type Bool && "+
		"temporal operator search-attribute create --namespace bare --name EscrowRound --type Int && "+
		"temporal operator search-attribute create --namespace bare --name EscrowBlocked --name EscrowPhase --name EscrowStatus --type Keyword && "+
		"temporal operator search-attribute create --namespace bare --name EscrowInstances --type KeywordList")
	assert.Contains(t, err.Error(), "temporal-bootstrap")

	attrs := map[string]enums.IndexedValueType{}
	for name, typ := range escrow.SearchAttributeTypes {
		attrs[name] = searchattr.Parse(typ)
	}
	_, err = c.OperatorService().AddSearchAttributes(t.Context(), &operatorservice.AddSearchAttributesRequest{Namespace: srv.Namespace, SearchAttributes: attrs})
	require.NoError(t, err)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.NoError(ct, worker.CheckNamespace(t.Context(), c, check))
	}, 30*time.Second, 250*time.Millisecond)

	// An escrow started by a client with other keys: no worker serves its queue, its input
	// stays in history for the check to read.
	otherKeys, otherSpec, err := keyring.Generate("k2")
	require.NoError(t, err)
	_, err = dial(t, srv, otherKeys).ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: escrow.WorkflowID("probe-1"), TaskQueue: "nobody"},
		escrow.WorkflowType, escrow.EscrowInput{EscrowID: "probe-1"})
	require.NoError(t, err)
	require.EventuallyWithT(t, func(ct *assert.CollectT) { // visibility lags the start
		err := worker.CheckNamespace(t.Context(), c, check)
		assert.ErrorIs(ct, err, keyring.ErrUnknownKey)
		if errors.As(err, &ne) {
			assert.True(ct, ne.Has(worker.CheckPayloadKeys))
			assert.Contains(ct, err.Error(), "cannot open the input of escrow "+escrow.WorkflowID("probe-1"))
		}
	}, 30*time.Second, 250*time.Millisecond)

	// The same worker after a key rotation, holding k2 as an older key, reads it.
	both, err := keyring.Parse(spec + "," + otherSpec)
	require.NoError(t, err)
	require.NoError(t, worker.CheckNamespace(t.Context(), c, worker.NamespaceCheck{Namespace: srv.Namespace, Keys: both}))
}

// dial connects to srv with keys sealing every payload, as temporalclient.Dial does.
func dial(t *testing.T, srv *devstack.Temporal, keys *keyring.Keyring) client.Client {
	t.Helper()
	dc := codec.DataConverter(keys)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort: srv.HostPort, Namespace: srv.Namespace, DataConverter: dc, FailureConverter: codec.FailureConverter(dc),
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}
