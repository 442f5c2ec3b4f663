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
	replay := newReplayer(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			require.NoError(t, replay(f))
		})
	}
}

// newReplayer returns a function that replays one saved history against Escrow, with the
// test key the histories' payloads are encrypted under.
func newReplayer(t *testing.T) func(file string) error {
	t.Helper()
	spec, err := os.ReadFile("testdata/keys.txt")
	require.NoError(t, err)
	keys, err := keyring.Parse(strings.TrimSpace(string(spec)))
	require.NoError(t, err)
	dc := codec.DataConverter(keys)
	logger := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	return func(file string) error {
		r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
			DataConverter: dc, FailureConverter: codec.FailureConverter(dc),
		})
		if err != nil {
			return err
		}
		r.RegisterWorkflow(Escrow)
		return r.ReplayWorkflowHistoryFromJSONFile(logger, file)
	}
}
