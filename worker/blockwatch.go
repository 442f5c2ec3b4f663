package worker

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/watcher"
)

// newWatcher makes this worker a replica of its namespace's block watcher (package
// watcher): one replica leads, the others stand by. It needs the daemon's URL, the store
// (registrations, scanned blocks, the leader lock) and the escrow queue (the workflows it
// signals run here). Built in New, so the metrics read it without a race; Start runs it.
func (w *Worker) newWatcher() {
	if w.cfg.DaemonURL == "" || w.store == nil || w.pool == nil {
		return
	}
	ns := w.cfg.Namespace
	if ns == "" {
		ns = "default"
	}
	w.watcher = watcher.New(watcher.Config{
		Store:         w.store,
		Daemon:        watcher.NewDaemon(w.cfg.DaemonURL, 0),
		Notify:        w.notifyPayment,
		NotifyPayout:  w.notifyPayout,
		NotifyFunding: w.notifyFunding,
		Name:          "block-watcher/" + ns,
		Poll:          w.cfg.BlockWatcherPoll,
		Logger:        w.log,
	})
}

// startWatcher runs the replica until Stop.
func (w *Worker) startWatcher() {
	if w.watcher == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.stopWatcher = cancel
	w.watcherDone.Go(func() { w.watcher.Run(ctx) })
}

// stopWatcherAndWait ends this replica's watcher, releasing the lock if it led.
func (w *Worker) stopWatcherAndWait() {
	if w.stopWatcher != nil {
		w.stopWatcher()
		w.watcherDone.Wait()
	}
}

// notifyPayment signals "payment seen" to the escrow's workflow, which asks its wallet at
// once. An escrow whose workflow is gone has nothing to be told.
func (w *Worker) notifyPayment(ctx context.Context, escrowID string, s watcher.Seen) error {
	return w.signalPayment(ctx, escrowID, escrow.PaymentSeen{TxHash: s.TxHash, AmountAtomic: s.Amount, Height: s.Height, UnlockTime: s.UnlockTime,
		InPool: s.InPool, NextHeight: s.NextHeight, Unread: s.Unread})
}

// signalPayment sends p as a payment-seen signal; an escrow whose workflow is gone has nothing
// to be told.
func (w *Worker) signalPayment(ctx context.Context, escrowID string, p escrow.PaymentSeen) error {
	err := w.client.SignalWorkflow(ctx, escrow.WorkflowID(escrowID), "", string(escrow.SignalPaymentSeen), p)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("signal payment seen to escrow %s: %w", escrowID, err)
	}
	return nil
}

// notifyFunding signals "payment seen" to the escrow's workflow when the funding payments it
// asked the watcher to follow are deep enough, or one is gone: its wallet's check decides.
func (w *Worker) notifyFunding(ctx context.Context, escrowID string, s watcher.FollowState) error {
	return w.signalPayment(ctx, escrowID, escrow.PaymentSeen{TxHash: s.TxHash, Confirmations: s.Confirmations, Gone: s.Gone})
}

// notifyPayout signals "payout seen" to the escrow's workflow: where its payout's
// transactions are. An escrow whose workflow is gone has nothing to be told.
func (w *Worker) notifyPayout(ctx context.Context, escrowID string, s watcher.FollowState) error {
	p := escrow.PayoutSeen{TxHash: s.TxHash, Confirmations: s.Confirmations, InPool: s.InPool, Gone: s.Gone}
	err := w.client.SignalWorkflow(ctx, escrow.WorkflowID(escrowID), "", string(escrow.SignalPayoutSeen), p)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("signal payout seen to escrow %s: %w", escrowID, err)
	}
	return nil
}
