package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xmr-escrow/xmr-escrow/internal/rpcinstance"
	"go.uber.org/zap"
)

// TestAFatalWorkerErrorEndsRun: a fatal error of one SDK worker (a deleted namespace) must
// end the process, not leave it alive and idle; only the first is reported.
func TestAFatalWorkerErrorEndsRun(t *testing.T) {
	w := &Worker{fatal: make(chan error, 1), log: zap.NewNop(), own: rpcinstance.NewOwnership(nil), ownOwned: true}
	gone := errors.New("namespace default not found")
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	w.onFatal(gone)
	w.onFatal(errors.New("a second one"))
	select {
	case err := <-done:
		require.ErrorIs(t, err, gone)
		assert.Contains(t, err.Error(), "temporal worker: ")
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after a fatal error")
	}
}
