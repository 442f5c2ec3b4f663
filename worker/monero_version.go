package worker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/internal/rpcinstance"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// KeyCacheOf says whether the key cache is preloaded into an instance (rpcinstance.KeyCacheOf).
type KeyCacheOf = rpcinstance.KeyCacheOf

// keyCacheNotStarted is what the start-up log says of an instance this worker did not start.
const keyCacheNotStarted = "unknown: not started by this worker"

// keyCacheState is the start-up log's key_cache field for one instance.
func keyCacheState(keyCache KeyCacheOf, name string) string {
	if keyCache == nil {
		return keyCacheNotStarted
	}
	switch preloaded, started := keyCache(name); {
	case !started:
		return keyCacheNotStarted
	case preloaded:
		return "applies: preloaded by this worker"
	default:
		return "does not apply: this worker started it without (XMR_ESCROW_KEYCACHE=off, or a wallet-rpc that links OpenSSL statically)"
	}
}

// CheckMoneroVersions asks each instance for its version and logs one line per instance: the
// Monero releases its RPC interface version can be (monero), whether the key cache applies to
// it (key_cache, from keyCache; nil: every instance is one this worker did not start), and
// what it lacks among the upstream multisig fixes the money rules were written around
// (docs/design.md, "Later Monero releases"). It refuses every instance whose interface is
// older than activities.RequiredMoneroVersion's (0.18.5.3, the release the tests run): the error
// names each one, the version it found, the one needed and how to get it. The worker calls it
// at start, before it serves any queue. An instance that does not answer is logged and
// skipped: the supervisor or the step retries deal with it.
func CheckMoneroVersions(ctx context.Context, instances []Instance, keyCache KeyCacheOf, log *zap.Logger) error {
	if log == nil {
		log = zap.NewNop()
	}
	ins := append([]Instance(nil), instances...)
	sort.Slice(ins, func(i, j int) bool { return ins[i].Name < ins[j].Name })
	var refused []error
	for _, in := range ins {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		rpc := walletrpc.New(walletrpc.Config{URL: in.URL, Username: in.Username, Password: in.Password, Timeout: 10 * time.Second})
		r, err := activities.CheckMoneroVersion(cctx, rpc)
		cancel()
		fields := []zap.Field{zap.String("instance", in.Name), zap.String("key_cache", keyCacheState(keyCache, in.Name))}
		if err == nil {
			fields = append(fields, zap.String("monero", r.Releases), zap.String("report", r.String()))
		}
		switch {
		case err != nil:
			log.Warn("wallet-rpc version unknown", append(fields, zap.String("monero", "unknown: get_version failed"), zap.Error(err))...)
		case r.Refusal() != nil:
			log.Error("wallet-rpc too old; refusing it", fields...)
			refused = append(refused, fmt.Errorf("instance %s at %s: %w", in.Name, in.URL, r.Refusal()))
		case len(r.Missing) > 0:
			log.Warn("wallet-rpc lacks multisig fixes; run "+activities.RequiredMoneroVersion+" or later", fields...)
		default:
			log.Info("wallet-rpc release", fields...)
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("worker: refusing %d wallet-rpc instance(s): %w", len(refused), errors.Join(refused...))
	}
	return nil
}
