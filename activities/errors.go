package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// Application error types set on non-retryable failures, so the workflow and operators can
// tell why a setup ended.
const (
	// ErrTypeInvalidInput is an escrow ID, role, round or message that can never work.
	ErrTypeInvalidInput = "InvalidInput"
	// ErrTypeWalletRejected is a wallet-rpc error that a retry cannot fix (bad or tampered
	// multisig data, wrong round, already multisig, wrong password, multisig disabled).
	ErrTypeWalletRejected = "WalletRejected"
	// ErrTypeProtocol is a well-formed answer that breaks the protocol.
	ErrTypeProtocol = "WalletProtocol"
)

func nonRetryable(typ string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, err)
}

// classify turns a step's error into what Temporal should do with it: transport trouble and
// "no wallet open" are retried; anything the wallet refused on its merits ends the setup.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	if walletrpc.IsRetryable(err) {
		return err
	}
	var rpcErr *walletrpc.RPCError
	if errors.As(err, &rpcErr) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeWalletRejected, err, rpcErr.Code)
	}
	return err
}
