package worker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseInstances(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pw, []byte("s3cret\n"), 0o600))
	ins, err := ParseInstances("name=rpc-1,url=http://127.0.0.1:18083,dir=/w/1; name=rpc-2,url=http://127.0.0.1:18084,dir=/w/2,user=u,password-file=" + pw)
	require.NoError(t, err)
	require.Len(t, ins, 2)
	assert.Equal(t, Instance{Name: "rpc-1", URL: "http://127.0.0.1:18083", WalletDir: "/w/1"}, ins[0])
	assert.Equal(t, "u", ins[1].Username)
	assert.Equal(t, "s3cret", ins[1].Password)
}

func TestParseInstanceRejectsBadSpecs(t *testing.T) {
	for spec, want := range map[string]string{
		"name=a,url=ftp://x,dir=/d":                               "not an http(s) URL",
		"name=a,url=http://x:1":                                   "wallet_dir is empty",
		"url=http://x:1,dir=/d":                                   "must be non-empty",
		"name=a,url=http://x:1,dir=/d,colour=1":                   "unknown key",
		"name=a,url":                                              "not key=value",
		"name=a,url=http://x:1,dir=/d,password-file=/nonexistent": "read password file",
	} {
		_, err := ParseInstance(spec)
		require.Error(t, err, spec)
		assert.Contains(t, err.Error(), want, spec)
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Instances: []Instance{{Name: "a", URL: "http://127.0.0.1:1", WalletDir: "/d"}}, WalletSecret: make([]byte, 32), WalletsOnly: true}
	assert.NoError(t, good.Validate())
	escrows := good
	escrows.WalletsOnly = false
	assert.ErrorContains(t, escrows.Validate(), "XMR_ESCROW_DATABASE_URL", "the escrow queue needs the projection's database")
	dup := good
	dup.Instances = append(dup.Instances, good.Instances[0])
	assert.ErrorContains(t, dup.Validate(), "named twice")
	short := good
	short.WalletSecret = make([]byte, 8)
	assert.ErrorContains(t, short.Validate(), "openssl rand -hex 32")
	assert.ErrorContains(t, Config{}.Validate(), "no wallet-rpc instances")
}

func TestConfigRefusesOneInstanceUnderTwoNames(t *testing.T) {
	base := t.TempDir()
	link := filepath.Join(t.TempDir(), "alias")
	require.NoError(t, os.Symlink(base, link))
	cfg := func(a, b Instance) Config {
		a.Name, b.Name = "a", "b"
		return Config{Instances: []Instance{a, b}, WalletSecret: make([]byte, 32), WalletsOnly: true}
	}
	for name, c := range map[string]Config{
		"same URL spelled otherwise": cfg(
			Instance{URL: "http://127.0.0.1:18083", WalletDir: base + "/1"},
			Instance{URL: "HTTP://localhost:18083/json_rpc", WalletDir: base + "/2"}),
		"same dir spelled otherwise": cfg(
			Instance{URL: "http://127.0.0.1:18083", WalletDir: base + "/1"},
			Instance{URL: "http://127.0.0.1:18084", WalletDir: base + "/x/../1/"}),
		"same dir through a symlink": cfg(
			Instance{URL: "http://127.0.0.1:18083", WalletDir: base},
			Instance{URL: "http://127.0.0.1:18084", WalletDir: link}),
	} {
		err := c.Validate()
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "instances a and b", name)
		assert.Contains(t, err.Error(), "one wallet-rpc has exactly one owner", name)
	}
	ok := cfg(Instance{URL: "http://127.0.0.1:18083", WalletDir: base + "/1"}, Instance{URL: "http://127.0.0.1:18084", WalletDir: base + "/2"})
	assert.NoError(t, ok.Validate())
}

func TestSecretFromEnv(t *testing.T) {
	t.Setenv(EnvWalletSecret, strings.Repeat("ab", 32))
	b, err := SecretFromEnv()
	require.NoError(t, err)
	assert.Len(t, b, 32)
	t.Setenv(EnvWalletSecret, "zz")
	_, err = SecretFromEnv()
	assert.ErrorContains(t, err, "not hex")
	t.Setenv(EnvWalletSecret, "")
	t.Setenv(EnvWalletSecretFile, "")
	_, err = SecretFromEnv()
	assert.ErrorContains(t, err, EnvWalletSecret)
}

func TestLoadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"instances":[{"name":"a","url":"http://127.0.0.1:1","wallet_dir":"/d"}],"wallets_only":true}`), 0o600))
	c, err := LoadFile(p)
	require.NoError(t, err)
	assert.True(t, c.WalletsOnly)
	assert.Equal(t, "a", c.Instances[0].Name)
	require.NoError(t, os.WriteFile(p, []byte(`{"instances":[],"typo":1}`), 0o600))
	_, err = LoadFile(p)
	assert.ErrorContains(t, err, "typo")
}
