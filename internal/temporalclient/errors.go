package temporalclient

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrTLSRefused marks a dial that failed on TLS or credentials (a missing or untrusted
// certificate, a server that wants TLS, a refused API key); the error's text says what to set.
var ErrTLSRefused = errors.New("the connection's TLS or credentials were refused")

// IsTLSRefused says whether err is a dial refused for its TLS or credentials: retrying it
// cannot help, unlike a frontend that is still starting.
func IsTLSRefused(err error) bool { return errors.Is(err, ErrTLSRefused) }

// The hints, one per cause, naming both the variables and the flags.
const (
	hintMTLS = "the cluster requires mTLS: set " + EnvTLSCA + ", " + EnvTLSCert + " and " + EnvTLSKey +
		" (or --tls-ca, --tls-cert, --tls-key)"
	hintNeedsTLS = "the server may require TLS: set " + EnvTLSCA + " (or --tls-ca), and for mTLS " +
		EnvTLSCert + " and " + EnvTLSKey + " (or --tls-cert, --tls-key); for Temporal Cloud set " +
		EnvAPIKey + " (or --api-key-file)"
	hintCertRefused = "the cluster refused the client certificate: set " + EnvTLSCert + " and " + EnvTLSKey +
		" (or --tls-cert, --tls-key) to a pair signed by a CA the cluster trusts"
	hintUntrusted = "the server's certificate is not signed by a CA this client trusts: set " + EnvTLSCA +
		" (or --tls-ca) to the CA that signed it"
	hintServerName = "the server's certificate does not name the address dialed: set " + EnvServerName +
		" (or --tls-server-name) to a name it holds"
	hintNoTLS = "the server does not speak TLS: drop the TLS settings (or set " + EnvTLS + "=false)"
	hintKey   = "the cluster refused the API key: check " + EnvAPIKey + " (or --api-key-file) and that the key may use the namespace"
	hintCreds = "the cluster requires credentials: set " + EnvAPIKey + " (or --api-key-file), or for mTLS " +
		EnvTLSCert + " and " + EnvTLSKey + " (or --tls-cert, --tls-key)"
)

// explain wraps a failed dial; a failure that looks like TLS or credentials also wraps
// ErrTLSRefused and ends with the hint.
func explain(prefix string, err error, s settings) error {
	hint := hintFor(err, s)
	if hint == "" {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	return fmt.Errorf("%s: %w: %w: %s", prefix, err, ErrTLSRefused, hint)
}

// hintFor reads the failure the SDK and gRPC report (their texts are all there is to go
// on for handshake failures) against what was configured; "" when it is not about TLS or
// credentials (nothing listening, a timeout, an unknown namespace).
func hintFor(err error, s settings) string {
	tlsOn := (s.TLS != nil && !s.TLS.Disabled) || (s.TLS == nil && s.APIKey != "")
	msg := strings.ToLower(err.Error())
	has := func(subs ...string) bool {
		for _, sub := range subs {
			if strings.Contains(msg, sub) {
				return true
			}
		}
		return false
	}
	switch {
	case refusedCredentials(err):
		switch {
		case s.APIKey != "":
			return hintKey
		case s.hasClientCert():
			return hintCertRefused
		}
		return hintCreds
	case has("remote error: tls"):
		// The server's alert about our side of the handshake: no certificate, or one it
		// does not trust.
		if s.hasClientCert() {
			return hintCertRefused
		}
		return hintMTLS
	case has("certificate is valid for", "doesn't contain any ip sans", "not valid for any names"):
		return hintServerName
	case has("x509", "unknown authority", "certificate"):
		return hintUntrusted
	case tlsOn && has("first record does not look like a tls handshake", "server gave http response"):
		return hintNoTLS
	case tlsOn && has("eof", "connection reset", "broken pipe"):
		// A server that closes right after the handshake: a TLS 1.3 client learns that its
		// certificate was missing or refused only when it next reads or writes, and may see
		// the bare close instead of the alert.
		if s.hasClientCert() {
			return hintCertRefused
		}
		return hintMTLS
	case !tlsOn && has("eof", "connection reset", "broken pipe", "handshake", "http2: frame too large"):
		return hintNeedsTLS
	}
	return ""
}

// refusedCredentials says whether the server answered Unauthenticated or PermissionDenied,
// as a Temporal service error or a bare gRPC status.
func refusedCredentials(err error) bool {
	// The SDK converts PermissionDenied to a service error; Unauthenticated stays a status.
	var denied *serviceerror.PermissionDenied
	if errors.As(err, &denied) {
		return true
	}
	c := status.Code(err)
	return c == codes.Unauthenticated || c == codes.PermissionDenied
}
