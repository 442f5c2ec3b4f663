package temporalclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
)

// The environment variables read, as the Temporal SDKs and CLI name them, so one set of
// settings serves our binaries and the temporal CLI alike. Empty counts as unset.
const (
	// EnvAddress is the frontend's host:port.
	EnvAddress = "TEMPORAL_ADDRESS"
	// EnvNamespace is the namespace.
	EnvNamespace = "TEMPORAL_NAMESPACE"
	// EnvAPIKey is a Temporal Cloud API key; it implies TLS.
	EnvAPIKey = "TEMPORAL_API_KEY"
	// EnvTLS forces TLS on ("true") or off ("false").
	EnvTLS = "TEMPORAL_TLS"
	// EnvTLSCert is the mTLS client certificate's PEM file.
	EnvTLSCert = "TEMPORAL_TLS_CLIENT_CERT_PATH"
	// EnvTLSKey is the mTLS client key's PEM file.
	EnvTLSKey = "TEMPORAL_TLS_CLIENT_KEY_PATH"
	// EnvTLSCA is the PEM file of the CA that signed the server's certificate.
	EnvTLSCA = "TEMPORAL_TLS_SERVER_CA_CERT_PATH"
	// EnvServerName is the name to verify in the server's certificate.
	EnvServerName = "TEMPORAL_TLS_SERVER_NAME"
	// EnvProfile names the profile in the profiles file.
	EnvProfile = "TEMPORAL_PROFILE"
	// EnvConfigFile is the TOML profiles file.
	EnvConfigFile = "TEMPORAL_CONFIG_FILE"
)

// settings are the merged connection settings: the SDK's profile shape (which is what the
// environment and TOML files load into), with this package's explicit Options laid on top.
type settings struct {
	envconfig.ClientConfigProfile
	// profileName is the profile read, for the log line; empty when the environment is ignored.
	profileName string
}

// resolve merges, field by field, the explicit Options over the environment over the TOML
// profile over the defaults, and reads the API key file.
func (o Options) resolve() (settings, error) {
	var s settings
	if !o.IgnoreEnvironment {
		if err := o.checkConfigFile(); err != nil {
			return settings{}, err
		}
		p, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{
			ConfigFilePath:    o.ConfigFile,
			ConfigFileProfile: o.Profile,
			EnvLookup:         nonEmptyEnv{},
		})
		s.profileName = firstOf(o.Profile, os.Getenv(EnvProfile), envconfig.DefaultConfigFileProfile)
		if err != nil {
			file := firstOf(o.ConfigFile, os.Getenv(EnvConfigFile), envconfig.DefaultConfigFilePath())
			return settings{}, fmt.Errorf("temporal client profile %q from %s (%s or --profile; file %s): %w",
				s.profileName, file, EnvProfile, EnvConfigFile, err)
		}
		s.ClientConfigProfile = p
	}
	if o.HostPort != "" {
		s.Address = o.HostPort
	}
	if o.Namespace != "" {
		s.Namespace = o.Namespace
	}
	s.Address = firstOf(s.Address, DefaultHostPort)
	s.Namespace = firstOf(s.Namespace, DefaultNamespace)
	key, err := o.apiKey()
	if err != nil {
		return settings{}, err
	}
	if key != "" {
		s.APIKey = key
	}
	if o.TLS != (TLS{}) {
		s.overlayTLS(o.TLS)
	}
	return s, nil
}

// overlayTLS lays explicit TLS fields over the loaded ones; a path replaces inline PEM data
// (TEMPORAL_TLS_*_DATA) for the same item, and any explicit field turns TLS on.
func (s *settings) overlayTLS(t TLS) {
	if s.TLS == nil {
		s.TLS = &envconfig.ClientConfigTLS{}
	} else {
		c := *s.TLS // the loaded profile may share its TLS section; never write through it
		s.TLS = &c
	}
	s.TLS.Disabled = false
	if t.CACert != "" {
		s.TLS.ServerCACertPath, s.TLS.ServerCACertData = t.CACert, nil
	}
	if t.ClientCert != "" {
		s.TLS.ClientCertPath, s.TLS.ClientCertData = t.ClientCert, nil
	}
	if t.ClientKey != "" {
		s.TLS.ClientKeyPath, s.TLS.ClientKeyData = t.ClientKey, nil
	}
	if t.ServerName != "" {
		s.TLS.ServerName = t.ServerName
	}
}

// checkConfigFile refuses a profiles file that was named but is missing: the SDK treats a
// missing file as empty, which would silently dial the defaults instead.
func (o Options) checkConfigFile() error {
	path := firstOf(o.ConfigFile, os.Getenv(EnvConfigFile))
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("temporal profiles file: %w (set %s to an existing TOML file, or unset it)", err, EnvConfigFile)
	}
	return nil
}

// apiKey is APIKey, else the content of APIKeyFile (trimmed: files end in a newline).
func (o Options) apiKey() (string, error) {
	if o.APIKey != "" || o.APIKeyFile == "" {
		return o.APIKey, nil
	}
	b, err := os.ReadFile(o.APIKeyFile)
	if err != nil {
		return "", fmt.Errorf("temporal API key: %w (set --api-key-file to a readable file, or %s)", err, EnvAPIKey)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("temporal API key: %s is empty (--api-key-file)", o.APIKeyFile)
	}
	return key, nil
}

// clientOptions builds the SDK's connection options; the caller adds logger, metrics and
// converters.
func (s settings) clientOptions() (client.Options, error) {
	co := client.Options{HostPort: s.Address, Namespace: s.Namespace}
	tc, off, err := s.tlsConfig()
	if err != nil {
		return client.Options{}, err
	}
	co.ConnectionOptions.TLS, co.ConnectionOptions.TLSDisabled = tc, off
	co.ConnectionOptions.Authority = s.Authority
	if s.APIKey != "" {
		co.Credentials = client.NewAPIKeyStaticCredentials(s.APIKey)
	}
	if len(s.GRPCMeta) > 0 {
		co.HeadersProvider = fixedHeaders(s.GRPCMeta)
	}
	// The profile's codec section (TEMPORAL_CODEC_*) is for the Web UI and the CLI: our
	// clients always encode with their own keys, so it is not used here.
	return co, nil
}

// pemSource names where one PEM item comes from, for errors that say what to set.
type pemSource struct{ what, env, flag string }

var (
	caSource   = pemSource{"TLS server CA certificate", EnvTLSCA, "--tls-ca"}
	certSource = pemSource{"TLS client certificate", EnvTLSCert, "--tls-cert"}
	keySource  = pemSource{"TLS client key", EnvTLSKey, "--tls-key"}
)

// tlsConfig is the connection's TLS: nil without TLS, off when TLS is explicitly disabled
// (TEMPORAL_TLS=false). An API key alone gives TLS with the system roots (Temporal Cloud).
func (s settings) tlsConfig() (cfg *tls.Config, off bool, err error) {
	t := s.TLS
	switch {
	case t != nil && t.Disabled:
		return nil, true, nil
	case t == nil && s.APIKey == "":
		return nil, false, nil
	case t == nil:
		return &tls.Config{MinVersion: tls.VersionTLS12}, false, nil
	case t.DisableHostVerification:
		return nil, false, errors.New("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported: " +
			"set " + EnvTLSCA + " to the server's CA, and " + EnvServerName + " if its certificate names another host")
	}
	hasCert := t.ClientCertPath != "" || len(t.ClientCertData) > 0
	hasKey := t.ClientKeyPath != "" || len(t.ClientKeyData) > 0
	if hasCert != hasKey {
		if hasCert {
			return nil, false, fmt.Errorf("a TLS client certificate without its key: set %s (or --tls-key) too", EnvTLSKey)
		}
		return nil, false, fmt.Errorf("a TLS client key without its certificate: set %s (or --tls-cert) too", EnvTLSCert)
	}
	cfg = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	ca, err := caSource.read(t.ServerCACertPath, t.ServerCACertData)
	if err != nil {
		return nil, false, err
	}
	if ca != nil {
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(ca) {
			return nil, false, fmt.Errorf("%s %s holds no PEM certificate (%s, --tls-ca)", caSource.what, t.ServerCACertPath, EnvTLSCA)
		}
	}
	if hasCert {
		certPEM, err := certSource.read(t.ClientCertPath, t.ClientCertData)
		if err != nil {
			return nil, false, err
		}
		keyPEM, err := keySource.read(t.ClientKeyPath, t.ClientKeyData)
		if err != nil {
			return nil, false, err
		}
		// The parse error names neither file's content; never add the key's bytes to it.
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, false, fmt.Errorf("TLS client certificate %s and key %s (%s, %s): %w",
				t.ClientCertPath, t.ClientKeyPath, EnvTLSCert, EnvTLSKey, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, false, nil
}

// read returns the item's PEM from its file, or the inline data; nil when neither is set.
func (src pemSource) read(path string, data []byte) ([]byte, error) {
	if path == "" {
		return data, nil
	}
	if len(data) > 0 {
		return nil, fmt.Errorf("%s: both %s and %s_DATA are set: keep one",
			src.what, src.env, strings.TrimSuffix(src.env, "_PATH"))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (set %s, or %s, to a readable PEM file)", src.what, err, src.env, src.flag)
	}
	return b, nil
}

// hasClientCert says whether mTLS is configured, for the log and for hints.
func (s settings) hasClientCert() bool {
	return s.TLS != nil && !s.TLS.Disabled && (s.TLS.ClientCertPath != "" || len(s.TLS.ClientCertData) > 0)
}

// nonEmptyEnv reads the environment treating an empty variable as unset, as this package
// always has: compose files often pass `VAR: ${VAR:-}`, which must not turn TLS on.
type nonEmptyEnv struct{}

// Environ is os.Environ (TEMPORAL_GRPC_META_* headers).
func (nonEmptyEnv) Environ() []string { return os.Environ() }

// LookupEnv reports a variable only when it is set and non-empty.
func (nonEmptyEnv) LookupEnv(key string) (string, bool) {
	v := os.Getenv(key)
	return v, v != ""
}

// fixedHeaders sends the profile's gRPC metadata (TEMPORAL_GRPC_META_*) with every call.
type fixedHeaders map[string]string

// GetHeaders returns the fixed headers, for client.HeadersProvider.
func (h fixedHeaders) GetHeaders(context.Context) (map[string]string, error) { return h, nil }

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
