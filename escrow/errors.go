package escrow

import "errors"

// Application error types: every failure an escrow workflow or its steps end with, and every
// refusal a client may get, carries one of these as temporal.ApplicationError.Type(), so a
// client matches on a constant rather than on a message.
const (
	// ErrTypeInvalidInput is an input that can never run: a bad escrow, ID, role, round or
	// multisig message. Retrying cannot fix it.
	ErrTypeInvalidInput = "InvalidInput"
	// ErrTypeSetupFailed ends a setup that cannot complete; the status query says why.
	ErrTypeSetupFailed = "SetupFailed"
	// ErrTypePayoutFailed ends a payout that cannot complete; the funds stay in the
	// multisig for an operator.
	ErrTypePayoutFailed = "PayoutFailed"
	// ErrTypeDecisionRejected is every refused decision or operator update; the message
	// says why.
	ErrTypeDecisionRejected = "DecisionRejected"
	// ErrTypeInstanceBusy is a step of a finished escrow (a funding check, a payout step)
	// that stood back because its wallet-rpc instance is busy with another escrow's setup:
	// running would close that setup's open wallet. Temporal retries it.
	ErrTypeInstanceBusy = "InstanceBusy"
	// ErrTypeNoCapacity is a setup that found too few idle wallet-rpc instances; it waits
	// and asks again.
	ErrTypeNoCapacity = "NoCapacity"
	// ErrTypeStale is a payout step refused because the signers' multisig state is out of
	// date (nonces used, import needed); the workflow redoes the export/import and retries.
	ErrTypeStale = "MultisigStale"
	// ErrTypePayoutRejected is a transaction that does not do what the decision says; it is
	// never signed.
	ErrTypePayoutRejected = "PayoutRejected"
	// ErrTypeWalletRejected is a wallet-rpc error that a retry cannot fix (bad or tampered
	// multisig data, wrong round, already multisig, wrong password, multisig disabled).
	ErrTypeWalletRejected = "WalletRejected"
	// ErrTypeProtocol is a well-formed wallet-rpc answer that breaks the protocol.
	ErrTypeProtocol = "WalletProtocol"
	// ErrTypeForeignCaller is a wallet step refused because it was not scheduled by the
	// workflow of the escrow it names, or a payout that is not the one that workflow
	// decided: only an escrow's own workflow can move its money.
	ErrTypeForeignCaller = "ForeignCaller"
	// ErrTypeForkAhead is a new escrow refused because its longest term would run past the
	// next hard fork, after which a 0.18 multisig may not be able to spend.
	ErrTypeForkAhead = "ForkAhead"
	// ErrTypeRestoreRefused is a restore that would overwrite another wallet, or whose
	// wallet is not the escrow's (or whose backup is missing, corrupt or does not open).
	ErrTypeRestoreRefused = "RestoreRefused"
	// ErrTypeScanStart is a finished multisig wallet that scans from past the chain's top, so
	// it would never see the buyer's payment; its setup fails before the address goes out.
	ErrTypeScanStart = "WalletScanStart"
)

// ErrInvalidInput marks an EscrowInput that can never run.
var ErrInvalidInput = errors.New("invalid escrow input")
