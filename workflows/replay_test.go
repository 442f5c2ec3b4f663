package workflows

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/xmr-escrow/xmr-escrow/codec"
	"github.com/xmr-escrow/xmr-escrow/keyring"
)

// TestReplaySavedHistories replays real escrow histories (testdata/README.md says how they
// are made) against the current code: a change that breaks determinism fails here before
// it can break running escrows.
func TestReplaySavedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/history-*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no saved histories under testdata: see testdata/README.md")
	spec, err := os.ReadFile("testdata/keys.txt")
	require.NoError(t, err)
	keys, err := keyring.Parse(strings.TrimSpace(string(spec)))
	require.NoError(t, err)
	dc := codec.DataConverter(keys)
	logger := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
				DataConverter: dc, FailureConverter: codec.FailureConverter(dc),
			})
			require.NoError(t, err)
			r.RegisterWorkflow(Escrow)
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(logger, f))
		})
	}
}
