package walletrpc

// The spend tests live in walletrpc_test (devstack imports walletrpc); these give them
// the codes and classifiers no other package uses, without putting them in the contract.
const (
	CodeNotEnoughMoney      = codeNotEnoughMoney
	CodeThresholdNotReached = codeThresholdNotReached
	TransferTypeBlock       = transferTypeBlock
)

var (
	IsMultisigSubmission  = isMultisigSubmission
	IsNotEnoughMoney      = isNotEnoughMoney
	IsStaleMultisig       = isStaleMultisig
	IsThresholdNotReached = isThresholdNotReached
	IsTxNotPossible       = isTxNotPossible
)
