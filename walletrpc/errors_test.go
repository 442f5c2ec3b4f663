package walletrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
)

func rpcErr(code int, msg string) error {
	return fmt.Errorf("walletrpc m: %w", &RPCError{Method: "m", Code: code, Message: msg})
}

func TestIsRetryable(t *testing.T) {
	refused := &TransportError{Method: "m", Err: &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection refused", refused, true},
		{"unclassified code 0 (daemon unreachable)", &RPCError{Method: "get_transfers", Code: 0}, true},
		{"EOF", &TransportError{Method: "m", Err: io.ErrUnexpectedEOF}, true},
		{"reset", &TransportError{Method: "m", Err: syscall.ECONNRESET}, true},
		{"http 500", &TransportError{Method: "m", StatusCode: 500, Err: errors.New("x")}, true},
		{"http 503", &TransportError{Method: "m", StatusCode: 503, Err: errors.New("x")}, true},
		{"http 429", &TransportError{Method: "m", StatusCode: 429, Err: errors.New("x")}, true},
		{"http 404", &TransportError{Method: "m", StatusCode: 404, Err: errors.New("x")}, false},
		{"http 401 bad creds", &TransportError{Method: "m", StatusCode: 401, Err: ErrUnauthorized}, false},
		{"protocol garbage", &protocolError{Method: "m", Reason: "html"}, true},
		{"wrapped protocol", fmt.Errorf("walletrpc m: %w", &protocolError{Method: "m", Reason: "x"}), true},
		{"daemon busy", rpcErr(codeDaemonBusy, "busy"), true},
		{"not open", rpcErr(CodeNotOpen, "No wallet file"), true},
		{"no daemon connection", rpcErr(CodeNoDaemonConnection, "no connection to daemon"), true},
		{"unknown / failed to open", rpcErr(CodeUnknown, "Failed to open wallet"), false},
		{"kex round mismatch", rpcErr(CodeUnknown, "Messages don't have the expected kex round number"), false},
		{"already multisig", rpcErr(codeAlreadyMultisig, "This wallet is already multisig"), false},
		{"bad multisig info", rpcErr(codeBadMultisigInfo, "bad"), false},
		{"invalid password", rpcErr(codeInvalidPassword, "Invalid password"), false},
		{"wallet exists", rpcErr(codeWalletAlreadyExists, "Cannot create wallet. Already exists."), false},
		{"disabled", rpcErr(CodeDisabled, "multisig is disabled"), false},
		{"threshold not reached", rpcErr(codeThresholdNotReached, "x"), false},
		{"not enough money", rpcErr(codeNotEnoughMoney, "x"), false},
		{"method not found", rpcErr(codeMethodNotFound, "Method not found"), false},
		{"context canceled", context.Canceled, false},
		{"transport wrapping canceled", &TransportError{Method: "m", Err: &url.Error{Op: "Post", URL: "u", Err: context.Canceled}}, false},
		{"deadline exceeded", context.DeadlineExceeded, true},
		{"transport wrapping deadline", fmt.Errorf("walletrpc m: %w", &TransportError{Method: "m", Err: &url.Error{Op: "Post", URL: "u", Err: context.DeadlineExceeded}}), true},
		{"untyped error", errors.New("encode params: bad"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsRetryable(tc.err); got != tc.want {
				t.Fatalf("IsRetryable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestCodeAndPredicates(t *testing.T) {
	if code, ok := Code(rpcErr(codeAlreadyMultisig, "x")); !ok || code != -28 {
		t.Fatalf("Code = %d, %v", code, ok)
	}
	if _, ok := Code(&protocolError{Reason: "x"}); ok {
		t.Fatal("Code found a code in a protocolError")
	}
	if !IsNotOpen(rpcErr(-13, "No wallet file")) || IsNotOpen(rpcErr(-21, "x")) || IsNotOpen(nil) {
		t.Fatal("IsNotOpen misclassifies")
	}
	if !IsWalletExists(rpcErr(-21, "exists")) || IsWalletExists(rpcErr(-13, "x")) {
		t.Fatal("IsWalletExists misclassifies")
	}
	if !isUnauthorized(fmt.Errorf("w: %w", &TransportError{StatusCode: 401, Err: ErrUnauthorized})) {
		t.Fatal("isUnauthorized misses wrapped ErrUnauthorized")
	}
}

// Error texts are shown to operators; they must carry the code but never request params.
func TestErrorText(t *testing.T) {
	e := &RPCError{Method: "open_wallet", Code: -1, Message: "Failed to open wallet"}
	if got := e.Error(); got != "rpc error -1: Failed to open wallet" {
		t.Fatalf("RPCError text %q", got)
	}
	te := &TransportError{Method: "m", StatusCode: 502, Err: errors.New("unexpected HTTP status")}
	if got := te.Error(); !strings.Contains(got, "502") {
		t.Fatalf("TransportError text lacks status: %q", got)
	}
}

// The wallet-rpc header's values are part of the wire contract; pin the ones we branch on.
func TestCodeValues(t *testing.T) {
	pins := map[int]int{
		CodeUnknown: -1, codeDaemonBusy: -3, CodeNotOpen: -13, CodeTxNotPossible: -16,
		codeNotEnoughMoney: -17, codeNotEnoughOutsToMix: -19, codeWalletAlreadyExists: -21,
		codeInvalidPassword: -22, codeAlreadyMultisig: -28, codeBadMultisigInfo: -30,
		codeNotMultisig: -31, codeThresholdNotReached: -33, CodeMultisigSignature: -35,
		CodeNoDaemonConnection: -38, CodeDisabled: -48, CodeNonzeroUnlockTime: -50,
	}
	for got, want := range pins {
		if got != want {
			t.Errorf("constant %d, want %d", got, want)
		}
	}
}
