package worker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/internal/activities"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// CheckReleases asks each instance for its version, logs what it lacks among the upstream
// multisig fixes the money rules were written around (docs/design.md, "Later Monero
// releases"), and refuses every instance whose interface is older than
// activities.RequiredRelease's (0.18.5.3, the release the tests run): the error names each
// one, the version it found, the one needed and how to get it. The worker calls it at start,
// before it serves any queue. An instance that does not answer is logged and skipped: the
// supervisor or the step retries deal with it.
func CheckReleases(ctx context.Context, instances []Instance, log *zap.Logger) error {
	if log == nil {
		log = zap.NewNop()
	}
	ins := append([]Instance(nil), instances...)
	sort.Slice(ins, func(i, j int) bool { return ins[i].Name < ins[j].Name })
	var refused []error
	for _, in := range ins {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		rpc := walletrpc.New(walletrpc.Config{URL: in.URL, Username: in.Username, Password: in.Password, Timeout: 10 * time.Second})
		r, err := activities.CheckRelease(cctx, rpc)
		cancel()
		switch {
		case err != nil:
			log.Warn("wallet-rpc version unknown", zap.String("instance", in.Name), zap.Error(err))
		case r.Refusal() != nil:
			log.Error("wallet-rpc too old; refusing it", zap.String("instance", in.Name), zap.String("report", r.String()))
			refused = append(refused, fmt.Errorf("instance %s at %s: %w", in.Name, in.URL, r.Refusal()))
		case len(r.Missing) > 0:
			log.Warn("wallet-rpc lacks multisig fixes; run "+activities.RequiredRelease+" or later", zap.String("instance", in.Name), zap.String("report", r.String()))
		default:
			log.Info("wallet-rpc release", zap.String("instance", in.Name), zap.String("report", r.String()))
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("worker: refusing %d wallet-rpc instance(s): %w", len(refused), errors.Join(refused...))
	}
	return nil
}
