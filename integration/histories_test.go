package integration

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/localstack"
	"github.com/xmr-escrow/xmr-escrow/keyring"
)

var updateHistories = flag.Bool("update-histories", false, "save the histories of the lifecycle tests as replay fixtures under workflows/testdata")

// historyDir holds the replay fixtures and their test-only key.
const historyDir = "../workflows/testdata"

// testKeys encrypts every test stack's payloads with the replay fixtures' key, so a saved
// history can be replayed.
func testKeys(t testing.TB) *keyring.Keyring {
	t.Helper()
	spec, err := os.ReadFile(filepath.Join(historyDir, "keys.txt"))
	require.NoError(t, err)
	k, err := keyring.Parse(strings.TrimSpace(string(spec)))
	require.NoError(t, err)
	return k
}

// saveHistory writes the escrow's history as a replay fixture when -update-histories is set.
func saveHistory(t *testing.T, s *localstack.Stack, escrowID, name string) {
	t.Helper()
	if !*updateHistories {
		return
	}
	var events []*historypb.HistoryEvent
	it := s.Client.GetWorkflowHistory(context.Background(), escrow.WorkflowID(escrowID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		events = append(events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: " "}.Marshal(&historypb.History{Events: events})
	require.NoError(t, err)
	path := filepath.Join(historyDir, "history-"+name+".json")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	t.Logf("saved %d events to %s", len(events), path)
}

// signaled reports whether the escrow's history holds a signal of that name.
func signaled(t *testing.T, s *localstack.Stack, escrowID string, name escrow.SignalName) bool {
	t.Helper()
	it := s.Client.GetWorkflowHistory(context.Background(), escrow.WorkflowID(escrowID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == string(name) {
			return true
		}
	}
	return false
}
