package temporalclient

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/xmr-escrow/xmr-escrow/internal/testcerts"
	"github.com/xmr-escrow/xmr-escrow/keyring"
)

// frontend stands in for Temporal's frontend: it answers GetSystemInfo, the one call a dial
// makes, and nothing else.
type frontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
}

// GetSystemInfo answers with no capabilities, which the SDK accepts.
func (frontend) GetSystemInfo(context.Context, *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{}, nil
}

// serve runs the stand-in frontend on 127.0.0.1 with creds (nil: plaintext); apiKey, if set,
// is required as "authorization: Bearer <key>" on every call, as Temporal Cloud does.
func serve(t *testing.T, creds credentials.TransportCredentials, apiKey string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var opts []grpc.ServerOption
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	if apiKey != "" {
		opts = append(opts, grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+apiKey {
				return nil, status.Error(codes.Unauthenticated, "Request unauthorized.")
			}
			return h(ctx, req)
		}))
	}
	srv := grpc.NewServer(opts...)
	workflowservice.RegisterWorkflowServiceServer(srv, frontend{})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// mtlsServer serves with a server certificate for 127.0.0.1 and requires a client
// certificate signed by the same CA, like a Temporal cluster with mTLS.
func mtlsServer(t *testing.T, ca *testcerts.CA) string {
	t.Helper()
	pair, err := ca.Server("127.0.0.1")
	require.NoError(t, err)
	cert, err := pair.TLSCertificate()
	require.NoError(t, err)
	return serve(t, credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    ca.Pool(),
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}), "")
}

// dialTest dials with no environment, a short deadline and test keys.
func dialTest(t *testing.T, o Options) error {
	t.Helper()
	keys, _, err := keyring.Generate("test")
	require.NoError(t, err)
	o.Keys, o.IgnoreEnvironment = keys, true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	c, err := Dial(ctx, o)
	t.Logf("dial took %s: %v", time.Since(start), err)
	if err == nil {
		c.Close()
	}
	return err
}

func TestDialMTLS(t *testing.T) {
	dir := t.TempDir()
	ca, files := mtlsFiles(t, dir)
	addr := mtlsServer(t, ca)

	t.Run("with the client pair", func(t *testing.T) {
		require.NoError(t, dialTest(t, Options{HostPort: addr, TLS: TLS{CACert: files.CA, ClientCert: files.ClientCert, ClientKey: files.ClientKey}}))
	})
	t.Run("without a client certificate", func(t *testing.T) {
		err := dialTest(t, Options{HostPort: addr, TLS: TLS{CACert: files.CA}})
		require.ErrorIs(t, err, ErrTLSRefused)
		require.ErrorContains(t, err, "the cluster requires mTLS: set TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or --tls-ca, --tls-cert, --tls-key)")
	})
	t.Run("with a client certificate from another CA", func(t *testing.T) {
		other, err := testcerts.NewCA("another CA")
		require.NoError(t, err)
		pair, err := other.Client("stranger")
		require.NoError(t, err)
		cert, key, err := pair.WriteFiles(dir, "stranger")
		require.NoError(t, err)
		err = dialTest(t, Options{HostPort: addr, TLS: TLS{CACert: files.CA, ClientCert: cert, ClientKey: key}})
		require.ErrorIs(t, err, ErrTLSRefused)
		require.ErrorContains(t, err, hintCertRefused)
	})
	t.Run("without the server's CA", func(t *testing.T) {
		err := dialTest(t, Options{HostPort: addr, TLS: TLS{ClientCert: files.ClientCert, ClientKey: files.ClientKey}})
		require.ErrorIs(t, err, ErrTLSRefused)
		require.ErrorContains(t, err, hintUntrusted)
	})
	t.Run("with the wrong server name", func(t *testing.T) {
		err := dialTest(t, Options{HostPort: addr, TLS: TLS{CACert: files.CA, ClientCert: files.ClientCert, ClientKey: files.ClientKey, ServerName: "temporal.example"}})
		require.ErrorIs(t, err, ErrTLSRefused)
		require.ErrorContains(t, err, hintServerName)
	})
	t.Run("plaintext to a TLS server", func(t *testing.T) {
		err := dialTest(t, Options{HostPort: addr})
		require.ErrorIs(t, err, ErrTLSRefused)
		require.ErrorContains(t, err, hintNeedsTLS)
	})
}

func TestDialOperatorMTLSWithoutKeys(t *testing.T) {
	ca, files := mtlsFiles(t, t.TempDir())
	addr := mtlsServer(t, ca)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := DialOperator(ctx, Options{HostPort: addr, IgnoreEnvironment: true,
		TLS: TLS{CACert: files.CA, ClientCert: files.ClientCert, ClientKey: files.ClientKey}})
	require.NoError(t, err)
	c.Close()
	// Dial proper still insists on payload keys.
	_, err = Dial(ctx, Options{HostPort: addr, IgnoreEnvironment: true})
	require.ErrorContains(t, err, keyring.EnvKeys)
}

func TestDialAPIKey(t *testing.T) {
	ca, err := testcerts.NewCA("")
	require.NoError(t, err)
	pair, err := ca.Server("127.0.0.1")
	require.NoError(t, err)
	cert, err := pair.TLSCertificate()
	require.NoError(t, err)
	// Server-side TLS only, like Temporal Cloud's API-key endpoints.
	addr := serve(t, credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), "s3cret-key")
	caFile, err := ca.WriteFile(t.TempDir(), "ca.pem")
	require.NoError(t, err)

	require.NoError(t, dialTest(t, Options{HostPort: addr, APIKey: "s3cret-key", TLS: TLS{CACert: caFile}}))
	err = dialTest(t, Options{HostPort: addr, APIKey: "wrong-key", TLS: TLS{CACert: caFile}})
	require.ErrorIs(t, err, ErrTLSRefused)
	require.ErrorContains(t, err, hintKey)
	require.False(t, strings.Contains(err.Error(), "wrong-key"), "the API key leaked into the error: %v", err)
	err = dialTest(t, Options{HostPort: addr, TLS: TLS{CACert: caFile}})
	require.ErrorIs(t, err, ErrTLSRefused)
	require.ErrorContains(t, err, hintCreds)
}

func TestDialTLSToPlaintextServer(t *testing.T) {
	addr := serve(t, nil, "")
	require.NoError(t, dialTest(t, Options{HostPort: addr}))
	err := dialTest(t, Options{HostPort: addr, TLS: TLS{Enabled: true}})
	require.ErrorIs(t, err, ErrTLSRefused)
	require.ErrorContains(t, err, hintNoTLS)
}

func TestDialNothingListeningIsNotTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	err = dialTest(t, Options{HostPort: addr})
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrTLSRefused), "a closed port is not a TLS refusal: %v", err)
}
