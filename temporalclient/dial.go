// Package temporalclient dials Temporal the same way for every binary (worker, starter,
// local stack), so each gets the zap-backed SDK logger and the encrypting data converter.
package temporalclient

import (
	"context"
	"fmt"
	"os"

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

// Options says where Temporal is.
type Options struct {
	// HostPort is the frontend's gRPC address; default $TEMPORAL_ADDRESS, then DefaultHostPort.
	HostPort string
	// Namespace defaults to $TEMPORAL_NAMESPACE, then DefaultNamespace.
	Namespace string
	// Logger receives the SDK's log lines; nil means no SDK logging.
	Logger *zap.Logger
	// Keys encrypt every payload (inputs, results, messages, failures) before it leaves the
	// process, so history holds only ciphertext. Required.
	Keys *keyring.Keyring
	// MetricsHandler receives the SDK's metrics (see package metrics); nil means none.
	MetricsHandler client.MetricsHandler
}

// FromEnv fills empty fields from TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE, then defaults.
func (o Options) FromEnv() Options {
	if o.HostPort == "" {
		o.HostPort = os.Getenv("TEMPORAL_ADDRESS")
	}
	if o.HostPort == "" {
		o.HostPort = DefaultHostPort
	}
	if o.Namespace == "" {
		o.Namespace = os.Getenv("TEMPORAL_NAMESPACE")
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	return o
}

// Dial connects and checks the server answers.
func Dial(ctx context.Context, o Options) (client.Client, error) {
	o = o.FromEnv()
	z := o.Logger
	if z == nil {
		z = zap.NewNop()
	}
	if o.Keys == nil {
		return nil, fmt.Errorf("dial temporal: no payload encryption keys (set %s)", keyring.EnvKeys)
	}
	dc := codec.DataConverter(o.Keys)
	c, err := client.DialContext(ctx, client.Options{
		HostPort:         o.HostPort,
		Namespace:        o.Namespace,
		Logger:           logging.NewTemporal(z),
		DataConverter:    dc,
		FailureConverter: codec.FailureConverter(dc),
		MetricsHandler:   o.MetricsHandler,
	})
	if err != nil {
		return nil, fmt.Errorf("dial temporal at %s (namespace %s): %w", o.HostPort, o.Namespace, err)
	}
	return c, nil
}
