package worker

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/xmr-escrow/xmr-escrow/internal/rpcinstance"
)

// New checks each instance's recorded ID before it serves it (rpcinstance.Identity).
func TestNewRefusesANameTheWalletDirDoesNotRecord(t *testing.T) {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	defer c.Close()
	free, recorded := t.TempDir(), t.TempDir()
	o := rpcinstance.NewOwnership(nil)
	require.NoError(t, o.Acquire(recorded))
	_, err = o.Claim(recorded, "x")
	require.NoError(t, err)
	o.Release()

	cfg := Config{
		Instances:    []Instance{{Name: "a", URL: "http://127.0.0.1:1", WalletDir: free}, {Name: "b", URL: "http://127.0.0.1:2", WalletDir: recorded}},
		WalletSecret: make([]byte, 32),
		WalletsOnly:  true,
	}
	_, err = New(c, cfg)
	var mismatch *rpcinstance.NameMismatchError
	require.ErrorAs(t, err, &mismatch)
	assert.Equal(t, "x", mismatch.Recorded.ID)
	_, err = os.Stat(filepath.Join(free, rpcinstance.InstanceIDFileName))
	assert.True(t, os.IsNotExist(err), "a refused worker records no name")
	other := rpcinstance.NewOwnership(nil)
	require.NoError(t, other.AcquireAll([]string{free, recorded}), "a refused worker keeps no lock")
	other.Release()

	shared := rpcinstance.NewOwnership(nil)
	defer shared.Release()
	require.Error(t, shared.Bind(cfg.Instances))
	assert.False(t, shared.Holds(free), "Bind takes every dir or none")

	cfg.Instances[1].Name = "x"
	w, err := New(c, cfg)
	require.NoError(t, err)
	w.Stop()
	b, err := os.ReadFile(filepath.Join(free, rpcinstance.InstanceIDFileName))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"a"`, "the first use recorded the configured name")
}

// New refuses instances another worker serves, and Stop lets them go.
func TestNewRefusesAServedWalletDirAndStopReleasesIt(t *testing.T) {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	defer c.Close()
	cfg := Config{
		Instances:    []Instance{{Name: "a", URL: "http://127.0.0.1:1", WalletDir: t.TempDir()}, {Name: "b", URL: "http://127.0.0.1:2", WalletDir: t.TempDir()}},
		WalletSecret: make([]byte, 32),
		WalletsOnly:  true,
	}
	w, err := New(c, cfg)
	require.NoError(t, err)

	_, err = New(c, cfg)
	var owned *rpcinstance.OwnedError
	require.ErrorAs(t, err, &owned, "a second worker on the same instances is refused")
	assert.Equal(t, os.Getpid(), owned.Holder.PID)

	w.Stop()
	w2, err := New(c, cfg)
	require.NoError(t, err, "once the first stops, a new owner takes over")
	w2.Stop()
}

func TestEndpoint(t *testing.T) {
	assert.Equal(t, endpoint("http://127.0.0.1:18083"), endpoint("HTTP://localhost:18083/json_rpc"))
	assert.Equal(t, endpoint("http://wallets.example"), endpoint("http://wallets.example:80/"))
	assert.NotEqual(t, endpoint("http://127.0.0.1:18083"), endpoint("http://127.0.0.1:18084"))
}
