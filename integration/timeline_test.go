package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/timeline"
)

// TestTimelineOfARealSetup reads the timeline of a real setup back from Temporal: every
// step of every role on its own wallet-rpc, the two purge timers between the rounds, the
// phase changes in order, and no payload in either output.
func TestTimelineOfARealSetup(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const id = "timeline"
	_, err := s.Starter.Start(ctx, input(id, 500*time.Millisecond))
	require.NoError(t, err)
	res, err := s.Starter.WaitReady(ctx, id)
	require.NoError(t, err)

	// The status query answers from the workflow's memory; give history the moment it may
	// need to hold the Ready upsert and the last step's completion too.
	var tl timeline.Timeline
	require.Eventually(t, func() bool {
		tl, err = timeline.Fetch(ctx, s.Client, id)
		require.NoError(t, err)
		return slices.ContainsFunc(tl.Entries, func(e timeline.Entry) bool {
			return e.Kind == timeline.KindPhase && e.Name == string(escrow.PhaseReady)
		})
	}, 30*time.Second, 200*time.Millisecond)

	var table bytes.Buffer
	require.NoError(t, tl.WriteTable(&table))
	t.Log("\n" + table.String())
	assert.Equal(t, id, tl.EscrowID)
	assert.Equal(t, escrow.WorkflowID(id), tl.WorkflowID)
	assert.Len(t, tl.Runs, 1)

	// Every role's steps, each once per round, on the instance its wallet lives on. Since
	// fewer-setup-steps, CreateWallet returns the round-0 message: no PrepareMultisig.
	want := map[string]int{"CreateWallet": 1, "MakeMultisig": 1, "ExchangeMultisigKeys": 2, "VerifyMultisig": 1}
	for _, role := range escrow.Roles {
		inst := res.Assignment.For(role)
		got := map[string]int{}
		for _, e := range tl.Entries {
			if e.Kind != timeline.KindStep || e.Instance != inst {
				continue
			}
			if _, setup := want[e.Name]; setup {
				got[e.Name]++
				assert.Equal(t, timeline.ResultOK, e.Result, "%s on %s", e.Name, inst)
				assert.GreaterOrEqual(t, e.Attempt, int32(1), "%s on %s", e.Name, inst)
				assert.GreaterOrEqual(t, e.Wait, time.Duration(0), "%s on %s", e.Name, inst)
				assert.GreaterOrEqual(t, e.Duration, e.Wait, "%s on %s", e.Name, inst)
			}
		}
		assert.Equal(t, want, got, "%s's steps on %s", role, inst)
	}
	assert.False(t, slices.ContainsFunc(tl.Entries, func(e timeline.Entry) bool {
		return e.Kind == timeline.KindStep && e.Name == "PrepareMultisig"
	}), "a new setup makes no separate PrepareMultisig step")

	// The lease is the local activity before anything else.
	assert.True(t, slices.ContainsFunc(tl.Entries, func(e timeline.Entry) bool {
		return e.Kind == timeline.KindLocal && e.Name == "AssignWalletRPCs" && e.Result == timeline.ResultOK
	}), "the wallet-rpc lease")

	// Phases in order up to Ready, with one purge timer between each pair of rounds. (After
	// Ready the funding poll's timers may start; they are not the setup's.)
	var sequence []string
	purges := 0
	for _, e := range tl.Entries {
		switch {
		case e.Kind == timeline.KindPhase && (len(sequence) == 0 || sequence[len(sequence)-1] != e.Name):
			sequence = append(sequence, e.Name)
		case e.Kind == timeline.KindTimer:
			require.Equal(t, "purge delay", e.Name)
			assert.Equal(t, timeline.ResultFired, e.Result)
			assert.Equal(t, "timer 500ms", e.Detail)
			assert.GreaterOrEqual(t, e.Duration, 500*time.Millisecond)
			sequence = append(sequence, e.Name)
			purges++
		}
		if e.Kind == timeline.KindPhase && e.Name == string(escrow.PhaseReady) {
			break
		}
	}
	assert.Equal(t, 2, purges)
	assert.Equal(t, []string{"Preparing", "Exchanging 1", "purge delay", "Exchanging 2", "purge delay", "Exchanging 3", "Ready"}, sequence)

	// The JSON parses, and neither output carries a multisig message.
	var js bytes.Buffer
	require.NoError(t, tl.WriteJSON(&js))
	var doc struct {
		EscrowID string           `json:"escrow_id"`
		Entries  []map[string]any `json:"entries"`
	}
	require.NoError(t, json.Unmarshal(js.Bytes(), &doc))
	assert.Equal(t, id, doc.EscrowID)
	assert.Len(t, doc.Entries, len(tl.Entries))
	assert.NotContains(t, js.String(), "MultisigxV2")
	assert.NotContains(t, table.String(), "MultisigxV2")
}
