package testcerts

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteMTLS(t *testing.T) {
	dir := t.TempDir()
	ca, f, err := WriteMTLS(dir, "127.0.0.1", "localhost")
	require.NoError(t, err)
	for _, key := range []string{f.ServerKey, f.ClientKey} {
		st, err := os.Stat(key)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "%s must be private", key)
	}
	srv, err := os.ReadFile(f.ServerCert)
	require.NoError(t, err)
	leaf := parse(t, srv)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "localhost", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	require.NoError(t, err)
	require.True(t, leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")))
	require.NoError(t, leaf.VerifyHostname("127.0.0.1"))

	cli, err := os.ReadFile(f.ClientCert)
	require.NoError(t, err)
	_, err = parse(t, cli).Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err)

	other, err := NewCA("other")
	require.NoError(t, err)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: other.Pool(), DNSName: "localhost"})
	require.Error(t, err, "another CA must not vouch for the server")
}

func parse(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	require.NotNil(t, b)
	c, err := x509.ParseCertificate(b.Bytes)
	require.NoError(t, err)
	return c
}
