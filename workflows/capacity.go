package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// changeCapacityWake versions the capacity wait that a lease's return can cut short with
// SignalCapacityFreed. Without it, setups started together slept their back-offs in step
// and an idle pool waited up to 30 s for the next one: 9 setups on one host's 3 instances
// took 221 s, about 3.5 times the work.
const changeCapacityWake = "capacity-wake"

// waitForCapacity waits before the next lease attempt: wait, or less if the pool that
// refused this setup says a returned lease made room. The timer stays the backstop, because the
// wake is a hint from one process's memory (the pool that refused us), which a restart or
// another host's return never sends.
func waitForCapacity(ctx workflow.Context, wait time.Duration) error {
	if version(ctx, changeCapacityWake, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return workflow.Sleep(ctx, wait)
	}
	// A wake that arrived during the failed attempt is kept: the room it announces may have
	// come after the attempt looked. At worst it costs one early attempt.
	freed := workflow.GetSignalChannel(ctx, string(escrow.SignalCapacityFreed))
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(tctx, wait)
	woken := false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(timer, func(workflow.Future) {})
	sel.AddReceive(freed, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); woken = true })
	sel.Select(ctx)
	if woken {
		workflow.GetLogger(ctx).Debug("woken: a wallet-rpc lease ended")
		return nil
	}
	return timer.Get(ctx, nil)
}
