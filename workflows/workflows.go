// Package workflows holds the escrow workflow: the 2-of-3 multisig setup across three
// wallet-rpc instances, then the money: funding, the parties' decisions, the payout through
// the multisig, each wait a durable timer.
package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// Escrow is the escrow workflow: it sets up the 2-of-3 multisig wallets, waits for the
// buyer's payment, follows the parties' decisions and pays out through the multisig.
func Escrow(ctx workflow.Context, in escrow.EscrowInput) (escrow.EscrowResult, error) {
	e, err := newEscrow(ctx, in)
	if err != nil {
		return escrow.EscrowResult{}, err
	}
	return e.run(ctx)
}
