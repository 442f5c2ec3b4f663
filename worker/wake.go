package worker

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// wake signals a setup that this process's pool refused for want of capacity, now that a
// lease's return made room, so it asks again at once instead of sleeping out its back-off. It runs
// on its own goroutine: the returning step must not wait on Temporal. A failure only costs
// the setup its timer's wait (the workflow may have ended, or got instances elsewhere).
func (w *Worker) wake(escrowID string) {
	if w.client == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.client.SignalWorkflow(ctx, escrow.WorkflowID(escrowID), "", string(escrow.SignalCapacityFreed), nil); err != nil {
			w.log.Debug("wake a setup waiting for wallet-rpc capacity", zap.String("escrow_id", escrowID), zap.Error(err))
		}
	}()
}
