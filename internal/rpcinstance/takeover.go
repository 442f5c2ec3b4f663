package rpcinstance

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// takeoverPoll is how often a waiting worker tries the locks again: the old owner releases
// its dirs last, after its wallet-rpcs have stored their wallets, so a quarter second adds
// little to a deploy and costs nothing while it waits.
const takeoverPoll = 250 * time.Millisecond

// AwaitOwnership runs take, which locks wallet dirs (Ownership.Bind or AcquireAll), again
// for as long as it is refused because another worker holds a dir, up to wait. This is the
// rolling deploy on one host: the new version starts beside the old one, the old one gets
// SIGTERM, finishes its running steps and releases its dirs, and the new one takes the
// instances over at once. With wait 0 a held dir is refused at once, as a replica must be.
// Any other error is returned as is; take must leave no lock behind when it fails.
func AwaitOwnership(ctx context.Context, wait time.Duration, log *zap.Logger, take func() error) error {
	if log == nil {
		log = zap.NewNop()
	}
	deadline := time.Now().Add(wait)
	var waitingFor *OwnedError
	for {
		err := take()
		var owned *OwnedError
		if err == nil || !errors.As(err, &owned) || !time.Now().Before(deadline) {
			if err == nil && waitingFor != nil {
				log.Info("took over wallet dirs from the previous owner", zap.String("wallet_dir", waitingFor.Dir), zap.Int("previous_pid", waitingFor.Holder.PID))
			}
			return err
		}
		if waitingFor == nil || waitingFor.Dir != owned.Dir {
			waitingFor = owned
			log.Info("waiting for the owner of a wallet dir to stop (rolling deploy)", zap.String("wallet_dir", owned.Dir),
				zap.Int("pid", owned.Holder.PID), zap.String("host", owned.Holder.Host), zap.Duration("up_to", time.Until(deadline).Round(time.Second)))
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(takeoverPoll):
		}
	}
}
