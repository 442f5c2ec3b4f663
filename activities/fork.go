package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// Chain holds the escrow task queue's view of the chain: what it knows of the next hard fork.
type Chain struct {
	daemon *walletrpc.Daemon
	next   uint64
}

// NewChain reads the chain from daemon (nil: no daemon) with nextForkHeight, the operator's
// setting for the next hard fork (0: ask the daemon's schedule).
func NewChain(daemon *walletrpc.Daemon, nextForkHeight uint64) *Chain {
	return &Chain{daemon: daemon, next: nextForkHeight}
}

// ForkOutlook says what is known of the next hard fork: the operator's setting, or the
// height monerod's schedule gives the version after the one the chain runs (a 0.18 daemon
// knows none past v16; a release that schedules FCMP++ will). The chain's height comes from
// monerod; without a daemon nothing is known and nothing is refused.
func (c *Chain) ForkOutlook(ctx context.Context) (escrow.ForkOutlook, error) {
	out := escrow.ForkOutlook{NextForkHeight: c.next, At: time.Now().UTC()}
	if c.daemon == nil {
		return out, nil
	}
	info, err := c.daemon.GetInfo(ctx)
	if err != nil {
		return out, fmt.Errorf("fork outlook: %w", err)
	}
	out.Height = info.Height
	if out.NextForkHeight > 0 {
		return out, nil
	}
	now, err := c.daemon.HardForkInfo(ctx, 0)
	if err != nil {
		return out, fmt.Errorf("fork outlook: %w", err)
	}
	next, err := c.daemon.HardForkInfo(ctx, now.Version+1)
	if err != nil {
		return out, fmt.Errorf("fork outlook: %w", err)
	}
	if next.EarliestHeight > out.Height {
		out.NextForkHeight = next.EarliestHeight
	}
	return out, nil
}
