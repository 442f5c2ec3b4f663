package devstack

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/xmr-escrow/xmr-escrow/internal/walletproc/proctest"
)

// TestMain fails the run if any test left a child process behind: the
// package promise is "no orphans", and only a scan after all tests proves it.
func TestMain(m *testing.M) { proctest.Main(m) }

func TestTwoTemporalDevServersAtOnce(t *testing.T) {
	proctest.SkipShort(t)
	t.Parallel()
	attrs := map[string]string{"EscrowPhase": "Keyword", "EscrowRound": "Int"}
	servers := make([]*Temporal, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range servers {
		wg.Go(func() {
			start := time.Now()
			servers[i], errs[i] = StartTemporal(t.Context(), TemporalOptions{
				Dir:              t.TempDir(),
				Namespace:        "escrow-test",
				SearchAttributes: attrs,
			})
			t.Logf("temporal %d ready in %s", i, time.Since(start))
		})
	}
	wg.Wait()
	for _, s := range servers {
		if s != nil {
			t.Cleanup(func() { _ = s.Stop() })
		}
	}
	require.NoError(t, errors.Join(errs...))

	ports := map[int]bool{}
	for _, s := range servers {
		t.Logf("temporal pid %d grpc %d ui %d http %d metrics %d", s.Proc.Pid(), s.GRPCPort, s.UIPort, s.HTTPPort, s.MetricsPort)
		for _, p := range serverPorts(s) {
			require.NotZero(t, p)
			require.False(t, ports[p], "port %d used twice", p)
			ports[p] = true
			proctest.AssertListening(t, p)
		}
		assert.Equal(t, "127.0.0.1:"+strconv.Itoa(s.GRPCPort), s.HostPort)
		assert.Equal(t, "http://127.0.0.1:"+strconv.Itoa(s.UIPort), s.UIURL)
		assert.Equal(t, s.UIURL+"/namespaces/escrow-test/workflows/escrow-1/run-1/history", s.WorkflowURL("escrow-1", "run-1"))

		c, err := client.Dial(client.Options{
			HostPort: s.HostPort, Namespace: s.Namespace,
			Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
		})
		require.NoError(t, err)
		_, err = c.CheckHealth(t.Context(), &client.CheckHealthRequest{})
		require.NoError(t, err)
		resp, err := c.OperatorService().ListSearchAttributes(t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace})
		require.NoError(t, err)
		assert.Equal(t, enums.INDEXED_VALUE_TYPE_KEYWORD, resp.GetCustomAttributes()["EscrowPhase"])
		assert.Equal(t, enums.INDEXED_VALUE_TYPE_INT, resp.GetCustomAttributes()["EscrowRound"])
		c.Close()

		res, err := http.Get(s.UIURL + "/")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, "web UI answers")
	}

	for _, s := range servers {
		start := time.Now()
		require.NoError(t, s.Stop())
		t.Logf("temporal pid %d stopped in %s", s.Proc.Pid(), time.Since(start))
		require.NoError(t, s.Stop(), "Stop is idempotent")
		proctest.AssertGone(t, s.Proc.Pid())
		for _, p := range serverPorts(s) {
			proctest.AssertNotListening(t, p)
		}
	}
}

func TestTemporalRestartKeepsAddressAndHistory(t *testing.T) {
	proctest.SkipShort(t)
	t.Parallel()
	s, err := StartTemporal(t.Context(), TemporalOptions{Dir: t.TempDir(), Headless: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop() })
	assert.Empty(t, s.UIURL)
	assert.Empty(t, s.WorkflowURL("w", "r"))

	c, err := client.Dial(client.Options{HostPort: s.HostPort, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	require.NoError(t, err)
	defer c.Close()
	run, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: "kept", TaskQueue: "none"}, "NoSuchWorkflow")
	require.NoError(t, err)
	assert.FileExists(t, s.DBPath+"-wal", "the database runs in write-ahead-log mode (DefaultSQLitePragmas); history must survive the restart all the same")

	s2, err := s.Restart(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s2.Stop() })
	proctest.AssertGone(t, s.Proc.Pid())
	assert.Equal(t, s.HostPort, s2.HostPort)
	// The same client reconnects to the same address and finds the run.
	desc, err := c.DescribeWorkflow(t.Context(), "kept", run.GetRunID())
	require.NoError(t, err)
	assert.Equal(t, enums.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.RawResponse.GetWorkflowExecutionInfo().GetStatus())
	require.NoError(t, s2.Stop())
	proctest.AssertGone(t, s2.Proc.Pid())
}

func serverPorts(s *Temporal) []int { return []int{s.GRPCPort, s.UIPort, s.HTTPPort, s.MetricsPort} }
