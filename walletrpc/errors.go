package walletrpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Wallet-rpc error codes, from monero's src/wallet/wallet_rpc_server_error_codes.h
// (values checked against the v0.18 header); only the codes this module branches on.
// Activities branch on these instead of matching message text, which changes between
// releases.
const (
	// CodeUnknown is the catch-all. v0.18 uses it for "Failed to open wallet" (wrong
	// password and missing file alike), a wrong kex round ("Messages don't have the
	// expected kex round number"), unparseable multisig messages and, since 0.18.1.2, a
	// kex round on a finished wallet ("…kex is already complete").
	CodeUnknown = -1
	// codeDaemonBusy means the daemon could not serve the wallet yet; worth a retry.
	codeDaemonBusy = -3
	// CodeGenericTransferError covers transfer failures without a finer code.
	CodeGenericTransferError = -4
	// CodeWrongTxID rejects a malformed transaction ID.
	CodeWrongTxID = -8
	// CodeNotOpen means no wallet is open in this wallet-rpc process ("No wallet file").
	CodeNotOpen = -13
	// CodeTxNotPossible means no transaction could be built (for multisig: import needed).
	CodeTxNotPossible = -16
	// codeNotEnoughMoney means the balance cannot cover amount plus fee.
	codeNotEnoughMoney = -17
	// codeNotEnoughOutsToMix means ring-member selection failed (young chain).
	codeNotEnoughOutsToMix = -19
	// codeWalletAlreadyExists is create_wallet's answer for a name already on disk.
	codeWalletAlreadyExists = -21
	// codeInvalidPassword is used by some calls for a wrong password (not open_wallet in v0.18).
	codeInvalidPassword = -22
	// codeAlreadyMultisig is make_multisig's answer on a wallet that is already multisig.
	// (A finished wallet answers a further exchange_multisig_keys with CodeUnknown since
	// 0.18.1.2; 0.18.0.0 answered this code.)
	codeAlreadyMultisig = -28
	// codeBadMultisigInfo rejects bad multisig data (v0.18 kex rounds report garbage as CodeUnknown).
	codeBadMultisigInfo = -30
	// codeNotMultisig means the call needs a multisig wallet.
	codeNotMultisig = -31
	// codeThresholdNotReached means info from more participants is needed.
	codeThresholdNotReached = -33
	// CodeBadMultisigTxData rejects a malformed multisig tx set.
	CodeBadMultisigTxData = -34
	// CodeMultisigSignature means signing failed, typically on stale multisig nonces.
	CodeMultisigSignature = -35
	// CodeMultisigSubmission means a signed multisig transaction was not accepted.
	CodeMultisigSubmission = -36
	// CodeNotEnoughUnlockedMoney means funds exist but are still locked.
	CodeNotEnoughUnlockedMoney = -37
	// CodeNoDaemonConnection means the wallet cannot reach its daemon; worth a retry.
	CodeNoDaemonConnection = -38
	// CodeAttributeNotFound means get_attribute found no such key.
	CodeAttributeNotFound = -45
	// CodeDisabled means multisig is disabled on this wallet (enable_multisig_experimental unset).
	CodeDisabled = -48
	// CodeNonzeroUnlockTime is how transfer and the sweeps refuse a non-zero unlock_time
	// since 0.18.3.4 (0.18.0.0 made the time-locked transaction).
	CodeNonzeroUnlockTime = -50
)

// JSON-RPC 2.0 protocol codes that epee's server emits itself.
const (
	// codeParseError means the server could not parse the request JSON.
	codeParseError = -32700
	// codeMethodNotFound means this wallet-rpc build has no such method.
	codeMethodNotFound = -32601
)

// ErrUnauthorized is wrapped by a TransportError when the server rejects our credentials,
// so callers can tell a configuration mistake from a flaky network.
var ErrUnauthorized = errors.New("unauthorized (check rpc-login credentials)")

// RPCError is a JSON-RPC error object returned by wallet-rpc; it never carries request
// params because those can hold passwords and multisig messages.
type RPCError struct {
	Method  string // JSON-RPC method that failed
	Code    int    // wallet-rpc error code, one of the Code* constants
	Message string // server's message, for humans only
}

// Error reports the code and the server's message only.
func (e *RPCError) Error() string {
	return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message)
}

// TransportError means the call did not produce a JSON-RPC answer: connection refused,
// timeout, reset, or a non-2xx HTTP status (StatusCode is 0 when no response arrived).
type TransportError struct {
	Method     string // JSON-RPC method that failed
	StatusCode int    // HTTP status, or 0 when no response arrived
	Err        error  // underlying cause (net, context, ErrUnauthorized)
}

// Error describes the transport failure and, when there was one, the HTTP status.
func (e *TransportError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("transport: HTTP %d %s: %v", e.StatusCode, http.StatusText(e.StatusCode), e.Err)
	}
	return fmt.Sprintf("transport: %v", e.Err)
}

// Unwrap exposes the cause so errors.Is can see context and net errors.
func (e *TransportError) Unwrap() error { return e.Err }

// protocolError means the server answered with something that is not a valid JSON-RPC
// response for our request (HTML, wrong shape, wrong id, oversized body).
type protocolError struct {
	Method string // JSON-RPC method that failed
	Reason string // what was wrong with the response, without its secret parts
}

// Error reports why the response was rejected.
func (e *protocolError) Error() string {
	return "protocol: " + e.Reason
}

// Code returns the wallet-rpc error code carried by err, if err wraps an RPCError.
func Code(err error) (int, bool) {
	var rpcErr *RPCError
	if errors.As(err, &rpcErr) {
		return rpcErr.Code, true
	}
	return 0, false
}

// codeNone is the code of an error wallet-rpc did not classify.
const codeNone = 0

// IsRetryable tells an activity whether running the same call again can succeed; RPC
// errors are mostly final because wallet-rpc rejected the request on its merits.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	// Cancellation is the caller giving up, not a fault to retry; a deadline is a slow server.
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var rpcErr *RPCError
	if errors.As(err, &rpcErr) {
		switch rpcErr.Code {
		// Code 0 with no message is what wallet-rpc answers when the daemon behind it
		// cannot be reached for a call that needs it (measured: get_transfers with pool
		// on an offline wallet): the same fault as CodeNoDaemonConnection.
		case codeDaemonBusy, CodeNotOpen, CodeNoDaemonConnection, codeNone:
			return true
		default:
			return false
		}
	}
	var tErr *TransportError
	if errors.As(err, &tErr) {
		if tErr.StatusCode == 0 {
			return true
		}
		return tErr.StatusCode >= 500 ||
			tErr.StatusCode == http.StatusRequestTimeout ||
			tErr.StatusCode == http.StatusTooManyRequests
	}
	var pErr *protocolError
	return errors.As(err, &pErr)
}

// IsNotOpen reports the "No wallet file" error, which means the wallet must be (re)opened.
func IsNotOpen(err error) bool {
	code, ok := Code(err)
	return ok && code == CodeNotOpen
}

// IsWalletExists reports create_wallet's "already exists", which a retried create treats
// as a sign that an earlier attempt got through.
func IsWalletExists(err error) bool {
	code, ok := Code(err)
	return ok && code == codeWalletAlreadyExists
}

// isUnauthorized reports that wallet-rpc rejected our digest credentials.
func isUnauthorized(err error) bool {
	return errors.Is(err, ErrUnauthorized)
}

// isTxNotPossible reports transfer's -16 "No transaction created": for a multisig wallet
// this is what a transfer says when the signers' export_multisig_info has not been
// imported since the funds arrived (or since the last spend).
func isTxNotPossible(err error) bool {
	code, ok := Code(err)
	return ok && code == CodeTxNotPossible
}

// isNotEnoughMoney reports -17 "not enough money" (balance cannot cover amount plus fee)
// and -37 "not enough unlocked money" (funds younger than 10 blocks): either way the
// payout has to wait or shrink, and trying the same call at once will not help.
func isNotEnoughMoney(err error) bool {
	code, ok := Code(err)
	return ok && (code == codeNotEnoughMoney || code == CodeNotEnoughUnlockedMoney)
}

// IsNoUnlockedBalance reports sweep_all's -4 "No unlocked balance in the specified
// account/subaddress(es)". sweep_all gives it both for locked funds and, on a multisig
// wallet, for funds whose multisig info was not imported yet, so callers check
// get_balance (MultisigImportNeeded, BlocksToUnlock) to tell which. -4 is a catch-all
// code, hence the message check.
func IsNoUnlockedBalance(err error) bool {
	var rpcErr *RPCError
	return errors.As(err, &rpcErr) && rpcErr.Code == CodeGenericTransferError &&
		strings.Contains(rpcErr.Message, "No unlocked balance")
}

// isStaleMultisig reports sign_multisig's -35. v0.18 says "This signature was made with
// stale data" when this signer's nonces were used up (it signed this or another txset
// since its last export: a second sign_multisig of the same txset gets this) and
// "Transaction already signed by this private key" when the txset's creator tries to
// sign it. Neither can be retried: export/import afresh and build a new txset.
func isStaleMultisig(err error) bool {
	code, ok := Code(err)
	return ok && code == CodeMultisigSignature
}

// isMultisigSubmission reports submit_multisig's -36 "Failed to submit multisig tx:
// transaction was rejected by daemon", which is what a conflicting spend (double spend)
// of the same outputs gets. Resubmitting our own already-accepted transaction is NOT an
// error in v0.18 (it returns the same hash), so -36 means "look the hash up".
func isMultisigSubmission(err error) bool {
	code, ok := Code(err)
	return ok && code == CodeMultisigSubmission
}

// isThresholdNotReached reports -33: kex needs more participants' messages, or
// submit_multisig got a txset that not enough signers have signed.
func isThresholdNotReached(err error) bool {
	code, ok := Code(err)
	return ok && code == codeThresholdNotReached
}

// IsUnknownTx reports get_transfer_by_txid's -8 "Transaction not found.": the wallet
// has no record of that hash (yet). -8 also means "Transaction ID has invalid format",
// which is a caller bug, so the message is checked to keep the two apart.
func IsUnknownTx(err error) bool {
	var rpcErr *RPCError
	return errors.As(err, &rpcErr) && rpcErr.Code == CodeWrongTxID &&
		strings.Contains(strings.ToLower(rpcErr.Message), "not found")
}
