package escrow

import "go.temporal.io/sdk/temporal"

// EscrowTaskQueue is the task queue of escrow workflows (and their local activities).
const EscrowTaskQueue = "escrow"

// WalletTaskQueue is the task queue of one wallet-rpc instance: every step for a wallet held
// by that instance is scheduled here, and the worker serving it runs one step at a time.
func WalletTaskQueue(instance string) string {
	return "wallet-rpc-" + instance
}

// QueryName is the type of every query name.
type QueryName string

// QueryStatus returns the escrow's State.
const QueryStatus QueryName = "status"

// Search attribute keys that operators filter on in the Web UI.
var (
	// SearchAttrPhase holds the Phase, e.g. `EscrowPhase = "Exchanging"`.
	SearchAttrPhase = temporal.NewSearchAttributeKeyKeyword("EscrowPhase")
	// SearchAttrRound holds the key-exchange round, e.g. `EscrowRound = 2`.
	SearchAttrRound = temporal.NewSearchAttributeKeyInt64("EscrowRound")
)

// SearchAttributeTypes lists the custom search attributes and their types, for registering
// them on a server (`temporal server start-dev --search-attribute NAME=TYPE`).
var SearchAttributeTypes = map[string]string{
	SearchAttrPhase.GetName(): "Keyword",
	SearchAttrRound.GetName(): "Int",
}
