// Package testcerts makes throw-away X.509 certificates for tests and local stacks: a CA,
// server certificates for the hosts a test listens on, and client certificates for mTLS. It
// exists so a test (or devstack) can run Temporal, or a stand-in gRPC server, behind real TLS
// without shipping key material in the repository. Never use it for a real deployment: the
// keys live in memory and in whatever folder a caller writes them to.
package testcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Validity is how long every certificate made here is valid: long enough for a local stack
// kept up for days, short enough that a leaked one soon expires.
const Validity = 30 * 24 * time.Hour

// CA is a self-signed certificate authority that signs server and client certificates.
type CA struct {
	// Cert is the CA's parsed certificate.
	Cert *x509.Certificate
	// CertPEM is Cert in PEM, what a peer trusts (TEMPORAL_TLS_SERVER_CA_CERT_PATH, a
	// server's client CA).
	CertPEM []byte
	key     *ecdsa.PrivateKey
}

// Pair is a certificate and its private key, both in PEM.
type Pair struct {
	// CertPEM is the leaf certificate.
	CertPEM []byte
	// KeyPEM is its private key (PKCS #8); WriteFiles writes it with mode 0600.
	KeyPEM []byte
}

// NewCA makes a CA named cn ("xmr-escrow test CA" when empty).
func NewCA(cn string) (*CA, error) {
	if cn == "" {
		cn = "xmr-escrow test CA"
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testcerts: CA key: %w", err)
	}
	tmpl, err := template(cn)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("testcerts: self-sign CA %q: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testcerts: parse CA %q: %w", cn, err)
	}
	return &CA{Cert: cert, CertPEM: pemBlock("CERTIFICATE", der), key: key}, nil
}

// Server makes a server certificate for hosts: IP literals ("127.0.0.1", "::1") become IP
// SANs, anything else ("localhost") DNS SANs. The first host is also the subject's CN.
func (ca *CA) Server(hosts ...string) (*Pair, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("testcerts: a server certificate needs at least one host")
	}
	tmpl, err := template(hosts[0])
	if err != nil {
		return nil, err
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	return ca.sign(tmpl)
}

// Client makes a client certificate (for mTLS) whose subject CN is cn.
func (ca *CA) Client(cn string) (*Pair, error) {
	tmpl, err := template(cn)
	if err != nil {
		return nil, err
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return ca.sign(tmpl)
}

// Pool is a cert pool holding only this CA: a tls.Config's RootCAs or ClientCAs.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// WriteFile writes the CA certificate to dir/name (mode 0644) and returns the path.
func (ca *CA) WriteFile(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, ca.CertPEM, 0o644); err != nil {
		return "", fmt.Errorf("testcerts: write CA cert: %w", err)
	}
	return path, nil
}

// TLSCertificate parses the pair for a tls.Config's Certificates.
func (p *Pair) TLSCertificate() (tls.Certificate, error) {
	c, err := tls.X509KeyPair(p.CertPEM, p.KeyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("testcerts: parse pair: %w", err)
	}
	return c, nil
}

// WriteFiles writes dir/name.pem (mode 0644) and dir/name-key.pem (mode 0600) and returns
// their paths.
func (p *Pair) WriteFiles(dir, name string) (certPath, keyPath string, err error) {
	certPath, keyPath = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certPath, p.CertPEM, 0o644); err != nil {
		return "", "", fmt.Errorf("testcerts: write cert: %w", err)
	}
	if err := os.WriteFile(keyPath, p.KeyPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("testcerts: write key: %w", err)
	}
	return certPath, keyPath, nil
}

// Files are the paths WriteMTLS wrote.
type Files struct {
	// CA is the CA certificate both sides trust.
	CA string
	// ServerCert and ServerKey are the server's pair.
	ServerCert, ServerKey string
	// ClientCert and ClientKey are the client's pair.
	ClientCert, ClientKey string
}

// WriteMTLS makes a CA, a server pair for hosts and a client pair ("xmr-escrow-client"), and
// writes them into dir as ca.pem, server.pem, server-key.pem, client.pem and client-key.pem:
// everything one mTLS setup needs, in one call.
func WriteMTLS(dir string, hosts ...string) (*CA, Files, error) {
	ca, err := NewCA("")
	if err != nil {
		return nil, Files{}, err
	}
	srv, err := ca.Server(hosts...)
	if err != nil {
		return nil, Files{}, err
	}
	cli, err := ca.Client("xmr-escrow-client")
	if err != nil {
		return nil, Files{}, err
	}
	var f Files
	if f.CA, err = ca.WriteFile(dir, "ca.pem"); err != nil {
		return nil, Files{}, err
	}
	if f.ServerCert, f.ServerKey, err = srv.WriteFiles(dir, "server"); err != nil {
		return nil, Files{}, err
	}
	if f.ClientCert, f.ClientKey, err = cli.WriteFiles(dir, "client"); err != nil {
		return nil, Files{}, err
	}
	return ca, f, nil
}

// sign issues a leaf certificate for tmpl with a fresh key.
func (ca *CA) sign(tmpl *x509.Certificate) (*Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testcerts: key for %q: %w", tmpl.Subject.CommonName, err)
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("testcerts: sign %q: %w", tmpl.Subject.CommonName, err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("testcerts: encode key for %q: %w", tmpl.Subject.CommonName, err)
	}
	return &Pair{CertPEM: pemBlock("CERTIFICATE", der), KeyPEM: pemBlock("PRIVATE KEY", pk)}, nil
}

// template is a certificate valid from a minute ago (clock skew) for Validity, with a
// random serial so two CAs made by one test never share one.
func template(cn string) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("testcerts: serial: %w", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"xmr-escrow tests"}},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(Validity),
	}, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
