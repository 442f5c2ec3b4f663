package worker

import (
	"context"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/internal/activities"
)

// LogReleases asks each instance for its version and logs what it lacks among the upstream
// multisig fixes the money rules were written around (docs/design.md, "Later Monero releases"):
// tests run on Debian's 0.18.0.0, production should run 0.18.5.1 or later. An instance that
// does not answer is logged and skipped: the supervisor or the step retries deal with it.
func (w *Worker) LogReleases(ctx context.Context) {
	names := make([]string, 0, len(w.rpcs))
	for name := range w.rpcs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		r, err := activities.CheckRelease(cctx, w.rpcs[name])
		cancel()
		switch {
		case err != nil:
			w.log.Warn("wallet-rpc version unknown", zap.String("instance", name), zap.Error(err))
		case len(r.Missing) > 0:
			w.log.Warn("wallet-rpc lacks multisig fixes; run 0.18.5.1 or later in production", zap.String("instance", name), zap.String("report", r.String()))
		default:
			w.log.Info("wallet-rpc release", zap.String("instance", name), zap.String("report", r.String()))
		}
	}
}
