// Package temporalclient dials Temporal the same way for every binary (worker, starter,
// local stack), so each gets the zap-backed SDK logger, the encrypting data converter and the
// same connection settings: address, namespace, TLS or mTLS, and an API key (Temporal Cloud),
// read as the SDK's environment configuration reads them (TEMPORAL_* variables and TOML
// profiles; see config.go).
package temporalclient

import (
	"context"
	"fmt"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/codec"
	"github.com/xmr-escrow/xmr-escrow/internal/logging"
	"github.com/xmr-escrow/xmr-escrow/keyring"
)

// Defaults match the Temporal dev server.
const (
	DefaultHostPort  = "127.0.0.1:7233"
	DefaultNamespace = "default"
)

// Options says where Temporal is and how to reach it. Each connection field left empty is
// taken from the environment (TEMPORAL_*), then from the TOML profile, then the defaults.
type Options struct {
	// HostPort is the frontend's gRPC address ($TEMPORAL_ADDRESS, --address).
	HostPort string
	// Namespace is the Temporal namespace ($TEMPORAL_NAMESPACE, --namespace).
	Namespace string
	// TLS holds the PEM files of a TLS or mTLS connection.
	TLS TLS
	// APIKey authenticates to Temporal Cloud ($TEMPORAL_API_KEY); it implies TLS. It is a
	// secret: commands read it from APIKeyFile, never from a flag value.
	APIKey string
	// APIKeyFile holds the API key (--api-key-file); used when APIKey is empty.
	APIKeyFile string
	// Profile names the TOML profile ($TEMPORAL_PROFILE, --profile; default "default").
	Profile string
	// ConfigFile is the TOML profiles file ($TEMPORAL_CONFIG_FILE; default
	// ~/.config/temporalio/temporal.toml, as the temporal CLI writes it).
	ConfigFile string
	// IgnoreEnvironment uses these fields and the defaults only: no TEMPORAL_* variable and
	// no profile, so a developer's settings for another cluster never reach a stack's own
	// dev server.
	IgnoreEnvironment bool
	// Logger receives the SDK's log lines; nil means no SDK logging.
	Logger *zap.Logger
	// Keys encrypt every payload (inputs, results, messages, failures) before it leaves the
	// process, so history holds only ciphertext. Required by Dial, unused by DialOperator.
	Keys *keyring.Keyring
	// MetricsHandler receives the SDK's metrics (see package metrics); nil means none.
	MetricsHandler client.MetricsHandler
}

// TLS names the PEM files of a TLS connection. Setting any field turns TLS on.
type TLS struct {
	// CACert is the file of the CA that signed the server's certificate
	// ($TEMPORAL_TLS_SERVER_CA_CERT_PATH, --tls-ca); empty trusts the system roots (Cloud).
	CACert string
	// ClientCert is the file of the mTLS client certificate ($TEMPORAL_TLS_CLIENT_CERT_PATH,
	// --tls-cert).
	ClientCert string
	// ClientKey is the file of ClientCert's private key ($TEMPORAL_TLS_CLIENT_KEY_PATH, --tls-key).
	ClientKey string
	// ServerName is the name to verify in the server's certificate when it is not the
	// address's host ($TEMPORAL_TLS_SERVER_NAME, --tls-server-name).
	ServerName string
	// Enabled turns TLS on with none of the above (system roots, no client certificate);
	// false leaves it to $TEMPORAL_TLS and the profile.
	Enabled bool
}

// FromEnv fills an empty HostPort and Namespace as a dial would (environment, profile,
// defaults), for the callers that must agree with it on the namespace (the worker's block
// watcher, the namespace bootstrap). A broken profile leaves them to the defaults here:
// Dial reports it.
func (o Options) FromEnv() Options {
	s, err := o.resolve()
	if err != nil {
		s.Address, s.Namespace = firstOf(o.HostPort, DefaultHostPort), firstOf(o.Namespace, DefaultNamespace)
	}
	o.HostPort, o.Namespace = s.Address, s.Namespace
	return o
}

// OperatorClient is what DialOperator gives: the raw services for administrative calls
// (namespaces, search attributes) and Close, but none of client.Client's workflow calls,
// which would send payloads unencrypted.
type OperatorClient interface {
	// WorkflowService is the frontend's workflow service (namespaces).
	WorkflowService() workflowservice.WorkflowServiceClient
	// OperatorService is the frontend's operator service (search attributes).
	OperatorService() operatorservice.OperatorServiceClient
	// Close closes the connection.
	Close()
}

// Dial connects with the encrypting data converter and checks the server answers.
func Dial(ctx context.Context, o Options) (client.Client, error) {
	if o.Keys == nil {
		return nil, fmt.Errorf("dial temporal: no payload encryption keys (set %s)", keyring.EnvKeys)
	}
	return dial(ctx, o, func(co *client.Options) {
		dc := codec.DataConverter(o.Keys)
		co.DataConverter, co.FailureConverter = dc, codec.FailureConverter(dc)
	})
}

// DialOperator connects like Dial (same address, TLS and API key) but needs no payload
// keys: for administrative calls by a command that holds no escrow keys.
func DialOperator(ctx context.Context, o Options) (OperatorClient, error) {
	o.Keys = nil
	c, err := dial(ctx, o, nil)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// dial is Dial and DialOperator's one path: resolve the settings, build the SDK's options,
// let the caller add its converters, connect, and turn a TLS or credential refusal into an
// error that says what to set.
func dial(ctx context.Context, o Options, converters func(*client.Options)) (client.Client, error) {
	z := o.Logger
	if z == nil {
		z = zap.NewNop()
	}
	s, err := o.resolve()
	if err != nil {
		return nil, fmt.Errorf("dial temporal: %w", err)
	}
	co, err := s.clientOptions()
	if err != nil {
		return nil, fmt.Errorf("dial temporal at %s (namespace %s): %w", s.Address, s.Namespace, err)
	}
	co.Logger, co.MetricsHandler = logging.NewTemporal(z), o.MetricsHandler
	if converters != nil {
		converters(&co)
	}
	// The key itself is never logged: only whether there is one.
	z.Info("dialing temporal", zap.String("address", s.Address), zap.String("namespace", s.Namespace),
		zap.Bool("tls", co.ConnectionOptions.TLS != nil), zap.Bool("client_cert", s.hasClientCert()),
		zap.Bool("api_key", s.APIKey != ""), zap.String("profile", s.profileName))
	c, err := client.DialContext(ctx, co)
	if err != nil {
		return nil, explain(fmt.Sprintf("dial temporal at %s (namespace %s)", s.Address, s.Namespace), err, s)
	}
	return c, nil
}
