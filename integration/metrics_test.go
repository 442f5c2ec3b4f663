package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWorkerMetricsCoverTheSetup scrapes the worker's Prometheus endpoint after a real
// setup and looks for the SDK's metrics and the product's.
func TestWorkerMetricsCoverTheSetup(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := s.Starter.Start(ctx, input("metered", 0))
	require.NoError(t, err)
	_, err = s.Starter.WaitReady(ctx, "metered")
	require.NoError(t, err)

	// Instances are named by their wallet dirs' IDs, random per stack.
	rpc1, rpc2, rpc3 := s.RPCs[0].Name, s.RPCs[1].Name, s.RPCs[2].Name
	want := []string{
		`xmr_escrow_wallet_rpc_call_seconds_count{instance="` + rpc1 + `",method="make_multisig"} 1`,
		`xmr_escrow_wallet_rpc_call_seconds_count{instance="` + rpc3 + `",method="exchange_multisig_keys"} 2`,
		`xmr_escrow_wallet_creates_total{instance="` + rpc2 + `"} 1`,
		`xmr_escrow_step_wait_seconds_count{instance="` + rpc2 + `",step="MakeMultisig"} 1`,
		`xmr_escrow_setup_duration`,
		`xmr_escrow_round_duration`,
		`xmr_escrow_escrows{status="awaiting_funding"} 1`,
		`temporal_activity_execution_latency`,
		`temporal_workflow_task_execution_latency`,
	}
	body := scrapeUntil(t, s.MetricsURL, func(body string) bool {
		for _, w := range want {
			if !strings.Contains(body, w) {
				return false
			}
		}
		return true
	})
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("metric %s missing; the endpoint has:\n%s", w, grepLines(body, "xmr_escrow"))
		}
	}
	t.Logf("product metrics after one setup:\n%s", grepLines(body, "xmr_escrow"))
	assert.NotContains(t, body, "xmr_escrow_wallet_opens_total{", "one setup on three instances opens nothing")
	assert.NotContains(t, body, "MultisigxV2")
}

func grepLines(body, sub string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
