package timeline_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/xmr-escrow/xmr-escrow/internal/timeline"
)

// row is an Entry without its unexported bookkeeping, as the tests compare it.
type row struct {
	Kind, Name, Instance string
	At, Wait, Duration   time.Duration
	Attempt              int32
	Result, Detail       string
}

func rows(t timeline.Timeline) []row {
	out := make([]row, 0, len(t.Entries))
	for _, e := range t.Entries {
		out = append(out, row{e.Kind, e.Name, e.Instance, e.Start.Sub(t0), e.Wait, e.Duration, e.Attempt, e.Result, e.Detail})
	}
	return out
}

func TestFromHistoryShowsStepsTimersDecisionsAndPhasesAcrossRuns(t *testing.T) {
	const ms = time.Millisecond
	run1, run2 := escrowRuns()
	tl, err := timeline.FromHistory("escrow-order-42", append(run1, run2...))
	require.NoError(t, err)
	assert.Equal(t, "order-42", tl.EscrowID)
	assert.Equal(t, "escrow-order-42", tl.WorkflowID)
	assert.Equal(t, []string{"run-1", "run-2"}, tl.Runs)
	want := []row{
		{"workflow", "started", "", 0, 0, 0, 0, "", "Escrow on escrow, EscrowPhase=NotStarted EscrowRound=0"},
		{"local", "AssignWalletRPCs", "", 10 * ms, 0, 190 * ms, 0, "ok", ""},
		{"phase", "Preparing", "", 200 * ms, 0, 0, 0, "", "EscrowPhase=Preparing EscrowRound=0 EscrowStatus=setting_up"},
		// Five seconds waiting for rpc-1 (two lost attempts and their back-off), one running.
		{"step", "CreateWallet", "rpc-1", 200 * ms, 5 * time.Second, 6 * time.Second, 3, "ok", "retried after WalletUnavailable"},
		{"step", "CreateWallet", "rpc-2", 200 * ms, 100 * ms, 300 * ms, 1, "failed: WalletRejected", "retry state NonRetryableFailure"},
		{"phase", "Exchanging 1", "", 6305 * ms, 0, 0, 0, "", "EscrowPhase=Exchanging EscrowRound=1 EscrowStatus=setting_up"},
		{"timer", "purge delay", "", 6305 * ms, 0, 10 * time.Second, 0, "fired", "timer 10s"},
		{"decision", "confirm-receipt", "", 17 * time.Second, 0, 500 * ms, 0, "ok", ""},
		{"phase", "awaiting_funding", "", 18 * time.Second, 0, 0, 0, "", "EscrowPhase=Ready EscrowRound=3 EscrowStatus=awaiting_funding"},
		{"workflow", "continued-as-new", "", 20 * time.Second, 0, 20 * time.Second, 0, "ok", "next run run-2"},
		{"workflow", "started", "", 20 * time.Second, 0, 0, 0, "", "Escrow on escrow, continued from run run-1, EscrowPhase=Ready EscrowRound=3 EscrowStatus=awaiting_funding"},
		// The search attributes carried into run-2 name its timer.
		{"timer", "funding poll", "", 20 * time.Second, 0, time.Second, 0, "canceled", "timer 30s"},
		{"step", "CheckFunding", "rpc-3", 21 * time.Second, 0, 0, 0, "pending", ""},
	}
	assert.Equal(t, want, rows(tl))
	assert.Equal(t, 5*time.Second+time.Second-5*time.Second, tl.Entries[3].StartToClose())
}

func TestFromHistoryRefusesWhatIsNotAHistory(t *testing.T) {
	_, err := timeline.FromHistory("escrow-x", nil)
	assert.ErrorContains(t, err, "no events")

	run1, _ := escrowRuns()
	_, err = timeline.FromHistory("escrow-x", run1[1:])
	assert.ErrorContains(t, err, "want WorkflowExecutionStarted")

	// A close whose scheduled event is missing means a cut history, not a timeline.
	var cut []*historypb.HistoryEvent
	for _, e := range run1 {
		if e.GetEventType() != enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
			cut = append(cut, e)
		}
	}
	_, err = timeline.FromHistory("escrow-x", cut)
	assert.ErrorContains(t, err, "not in this run's history")
}

func TestWritersShowEveryRowAndNoPayload(t *testing.T) {
	run1, run2 := escrowRuns()
	tl, err := timeline.FromHistory("escrow-order-42", append(run1, run2...))
	require.NoError(t, err)

	var table bytes.Buffer
	require.NoError(t, tl.WriteTable(&table))
	t.Log("\n" + table.String())
	lines := strings.Split(strings.TrimRight(table.String(), "\n"), "\n")
	require.Len(t, lines, 2+len(tl.Entries), "title, header, one line per entry")
	assert.Equal(t, "escrow order-42 (workflow escrow-order-42), 2 run(s): run-1, run-2", lines[0])
	assert.Regexp(t, `^AT +KIND +NAME +INSTANCE +WAIT +RUN +DURATION +ATTEMPT +RESULT +DETAIL$`, lines[1])
	assert.Regexp(t, `^\+200ms +step +CreateWallet +rpc-1 +5s +1s +6s +3 +ok +retried after WalletUnavailable$`, lines[5])
	assert.Regexp(t, `^\+6\.305s +timer +purge delay +- +- +- +10s +- +fired +timer 10s$`, lines[8])
	assert.Regexp(t, `^\+21s +step +CheckFunding +rpc-3 +- +- +- +- +pending *$`, lines[len(lines)-1])

	var js bytes.Buffer
	require.NoError(t, tl.WriteJSON(&js))
	var doc struct {
		EscrowID string   `json:"escrow_id"`
		Runs     []string `json:"runs"`
		Entries  []struct {
			Kind, Name, Instance, Result string
			OffsetMS                     float64 `json:"offset_ms"`
			WaitMS                       float64 `json:"wait_ms"`
			StartToCloseMS               float64 `json:"start_to_close_ms"`
			DurationMS                   float64 `json:"duration_ms"`
			Attempt                      int32   `json:"attempt"`
		} `json:"entries"`
	}
	require.NoError(t, json.Unmarshal(js.Bytes(), &doc))
	assert.Equal(t, "order-42", doc.EscrowID)
	require.Len(t, doc.Entries, len(tl.Entries))
	step := doc.Entries[3]
	assert.Equal(t, "CreateWallet", step.Name)
	assert.Equal(t, "rpc-1", step.Instance)
	assert.Equal(t, []float64{200, 5000, 1000, 6000}, []float64{step.OffsetMS, step.WaitMS, step.StartToCloseMS, step.DurationMS})
	assert.EqualValues(t, 3, step.Attempt)

	for _, out := range []string{table.String(), js.String()} {
		assert.NotContains(t, out, "MultisigxV2")
		assert.NotContains(t, out, "Encoded failure")
	}
}

func TestWritersOnAnEmptyTimeline(t *testing.T) {
	var table, js bytes.Buffer
	require.NoError(t, timeline.Timeline{EscrowID: "x"}.WriteTable(&table))
	assert.Contains(t, table.String(), "no run")
	require.NoError(t, timeline.Timeline{EscrowID: "x"}.WriteJSON(&js))
	assert.Contains(t, js.String(), `"entries": []`)
}
