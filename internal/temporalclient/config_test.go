package temporalclient

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/xmr-escrow/xmr-escrow/internal/testcerts"
)

// cleanEnv blanks every TEMPORAL_* variable (empty counts as unset here) and points the
// default profiles file into a fresh folder, so a developer's own settings never leak in.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "TEMPORAL_") {
			t.Setenv(k, "")
		}
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", home)
}

// writeProfiles writes a TOML profiles file and names it in TEMPORAL_CONFIG_FILE.
func writeProfiles(t *testing.T, toml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(path, []byte(toml), 0o600))
	t.Setenv(EnvConfigFile, path)
	return path
}

const profiles = `
[profile.default]
address = "profile-default:7233"
namespace = "ns-default"

[profile.cloud]
address = "cloud.example:7233"
namespace = "ns-cloud"
api_key = "profile-key"

[profile.cloud.tls]
server_name = "profile.example"
`

func TestDefaults(t *testing.T) {
	cleanEnv(t)
	s, err := Options{}.resolve()
	require.NoError(t, err)
	require.Equal(t, DefaultHostPort, s.Address)
	require.Equal(t, DefaultNamespace, s.Namespace)
	co, err := s.clientOptions()
	require.NoError(t, err)
	require.Nil(t, co.ConnectionOptions.TLS, "no setting means plaintext, as the dev server wants")
	require.Nil(t, co.Credentials)
}

func TestPrecedenceExplicitOverEnvOverProfile(t *testing.T) {
	cleanEnv(t)
	writeProfiles(t, profiles)

	s, err := Options{}.resolve()
	require.NoError(t, err)
	require.Equal(t, "profile-default:7233", s.Address, "the default profile applies when none is named")
	require.Equal(t, "ns-default", s.Namespace)

	t.Setenv(EnvProfile, "cloud")
	s, err = Options{}.resolve()
	require.NoError(t, err)
	require.Equal(t, "cloud.example:7233", s.Address)
	require.Equal(t, "profile-key", s.APIKey)

	t.Setenv(EnvAddress, "env:7233")
	t.Setenv(EnvAPIKey, "env-key")
	t.Setenv(EnvServerName, "env.example")
	s, err = Options{}.resolve()
	require.NoError(t, err)
	require.Equal(t, "env:7233", s.Address, "env over profile")
	require.Equal(t, "ns-cloud", s.Namespace, "the profile still fills what env leaves")
	require.Equal(t, "env-key", s.APIKey)
	require.Equal(t, "env.example", s.TLS.ServerName)

	s, err = Options{HostPort: "flag:7233", Namespace: "ns-flag", APIKey: "flag-key", Profile: "default",
		TLS: TLS{ServerName: "flag.example"}}.resolve()
	require.NoError(t, err)
	require.Equal(t, "flag:7233", s.Address, "explicit over env")
	require.Equal(t, "ns-flag", s.Namespace)
	require.Equal(t, "flag-key", s.APIKey)
	require.Equal(t, "flag.example", s.TLS.ServerName)
	require.Equal(t, "default", s.profileName, "an explicit profile over TEMPORAL_PROFILE")

	o := Options{Namespace: "ns-flag"}.FromEnv()
	require.Equal(t, "env:7233", o.HostPort)
	require.Equal(t, "ns-flag", o.Namespace)
}

func TestFlags(t *testing.T) {
	cleanEnv(t)
	t.Setenv(EnvTLSCA, "/env/ca.pem")
	t.Setenv(EnvTLSCert, "/env/cert.pem")
	keyFile := filepath.Join(t.TempDir(), "api-key")
	require.NoError(t, os.WriteFile(keyFile, []byte("file-key\n"), 0o600))
	var o Options
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o.RegisterFlags(fs)
	require.NoError(t, fs.Parse([]string{"--tls-ca", "/flag/ca.pem", "--tls-key", "/flag/key.pem",
		"--tls-server-name", "flag.example", "--api-key-file", keyFile}))
	s, err := o.resolve()
	require.NoError(t, err)
	require.Equal(t, "/flag/ca.pem", s.TLS.ServerCACertPath, "a flag over env")
	require.Equal(t, "/env/cert.pem", s.TLS.ClientCertPath, "env where no flag is given")
	require.Equal(t, "/flag/key.pem", s.TLS.ClientKeyPath)
	require.Equal(t, "file-key", s.APIKey, "the key file's content, without its newline")
}

func TestAPIKeyImpliesTLS(t *testing.T) {
	cleanEnv(t)
	t.Setenv(EnvAPIKey, "k")
	co := clientOptionsFor(t, Options{})
	require.NotNil(t, co.ConnectionOptions.TLS)
	require.NotNil(t, co.Credentials)

	t.Setenv(EnvTLS, "false") // a local proxy that terminates TLS itself
	co = clientOptionsFor(t, Options{})
	require.Nil(t, co.ConnectionOptions.TLS)
	require.True(t, co.ConnectionOptions.TLSDisabled)
}

func TestEmptyVariablesAreUnset(t *testing.T) {
	cleanEnv(t)
	// As a compose file's `${VAR:-}` passes them.
	t.Setenv(EnvTLSCert, "")
	t.Setenv(EnvAddress, "")
	co := clientOptionsFor(t, Options{})
	require.Nil(t, co.ConnectionOptions.TLS)
	require.Equal(t, DefaultHostPort, co.HostPort)
}

func TestIgnoreEnvironment(t *testing.T) {
	cleanEnv(t)
	writeProfiles(t, profiles)
	t.Setenv(EnvProfile, "cloud")
	t.Setenv(EnvTLSCA, "/nowhere/ca.pem")
	co := clientOptionsFor(t, Options{HostPort: "127.0.0.1:7999", IgnoreEnvironment: true})
	require.Equal(t, "127.0.0.1:7999", co.HostPort)
	require.Equal(t, DefaultNamespace, co.Namespace)
	require.Nil(t, co.ConnectionOptions.TLS)
	require.Nil(t, co.Credentials)
}

func TestCertWithoutKeyRefused(t *testing.T) {
	cleanEnv(t)
	_, err := clientOptionsErr(Options{TLS: TLS{ClientCert: "/x/cert.pem"}})
	require.ErrorContains(t, err, "without its key: set "+EnvTLSKey+" (or --tls-key)")
	_, err = clientOptionsErr(Options{TLS: TLS{ClientKey: "/x/key.pem"}})
	require.ErrorContains(t, err, "without its certificate: set "+EnvTLSCert+" (or --tls-cert)")
}

func TestUnreadableFilesNameFileAndVariable(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	_, files := mtlsFiles(t, dir)
	missing := filepath.Join(dir, "missing.pem")

	t.Setenv(EnvTLSKey, missing)
	_, err := clientOptionsErr(Options{TLS: TLS{ClientCert: files.ClientCert}})
	require.ErrorContains(t, err, missing)
	require.ErrorContains(t, err, EnvTLSKey)
	t.Setenv(EnvTLSKey, "")

	_, err = clientOptionsErr(Options{TLS: TLS{CACert: missing}})
	require.ErrorContains(t, err, missing)
	require.ErrorContains(t, err, EnvTLSCA)

	_, err = clientOptionsErr(Options{TLS: TLS{CACert: files.ClientKey}})
	require.ErrorContains(t, err, "holds no PEM certificate")

	_, err = Options{APIKeyFile: missing}.resolve()
	require.ErrorContains(t, err, missing)
	require.ErrorContains(t, err, "--api-key-file")
	require.ErrorContains(t, err, EnvAPIKey)

	t.Setenv(EnvConfigFile, missing)
	_, err = Options{}.resolve()
	require.ErrorContains(t, err, missing)
	require.ErrorContains(t, err, EnvConfigFile)
}

func TestMismatchedPairNeverShowsTheKey(t *testing.T) {
	cleanEnv(t)
	_, a := mtlsFiles(t, t.TempDir())
	_, b := mtlsFiles(t, t.TempDir())
	key, err := os.ReadFile(b.ClientKey)
	require.NoError(t, err)
	_, err = clientOptionsErr(Options{TLS: TLS{ClientCert: a.ClientCert, ClientKey: b.ClientKey}})
	require.ErrorContains(t, err, a.ClientCert)
	require.NotContains(t, err.Error(), "PRIVATE KEY")
	require.NotContains(t, err.Error(), strings.Split(string(key), "\n")[1])
}

func TestUnknownProfileRefused(t *testing.T) {
	cleanEnv(t)
	writeProfiles(t, profiles)
	_, err := Options{Profile: "staging"}.resolve()
	require.ErrorContains(t, err, "staging")
	require.ErrorContains(t, err, EnvProfile)
}

func TestDisableHostVerificationRefused(t *testing.T) {
	cleanEnv(t)
	t.Setenv("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "true")
	_, err := clientOptionsErr(Options{})
	require.ErrorContains(t, err, "not supported")
}

// mtlsFiles writes a CA, a server pair for 127.0.0.1 and a client pair into dir.
func mtlsFiles(t *testing.T, dir string) (*testcerts.CA, testcerts.Files) {
	t.Helper()
	ca, files, err := testcerts.WriteMTLS(dir, "127.0.0.1")
	require.NoError(t, err)
	return ca, files
}

func clientOptionsErr(o Options) (any, error) {
	s, err := o.resolve()
	if err != nil {
		return nil, err
	}
	return s.clientOptions()
}

func clientOptionsFor(t *testing.T, o Options) client.Options {
	t.Helper()
	s, err := o.resolve()
	require.NoError(t, err)
	co, err := s.clientOptions()
	require.NoError(t, err)
	return co
}
