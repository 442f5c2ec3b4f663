package worker

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/activities"
)

// backupsOf is where the wallet steps back up keys files: the marketplace's database, or
// nowhere on a participant's own worker (--wallets-only has no database: its key is its
// own to keep). A nil *store.Store must not become a non-nil interface.
func backupsOf(cfg Config) activities.Backups {
	if cfg.Store == nil {
		return nil
	}
	return cfg.Store
}

// watchesOf is where the wallet steps register escrows awaiting payment with the block
// watcher: the same database, or nowhere on a participant's own worker, whose escrows then
// poll as before. Like backupsOf, a nil *store.Store must not become a non-nil interface.
func watchesOf(cfg Config) activities.Watches {
	// Registering where no block watcher runs would stretch the escrow's polls to the 6 h
	// safety net with nothing to wake it: a worker without a daemon URL registers nothing,
	// and its escrows keep the short poll.
	if cfg.Store == nil || cfg.DaemonURL == "" {
		return nil
	}
	return cfg.Store
}

// purgeBackups deletes, every period, the wallet backups whose retention ended (a final
// escrow past its late-money grace). Every worker may run it: the delete is idempotent.
func (w *Worker) purgeBackups(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		n, err := w.store.PurgeWalletBackups(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			w.log.Warn("purge expired wallet backups", zap.Error(err))
		case n > 0:
			w.log.Info("purged expired wallet backups", zap.Int64("rows", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
