package supervisor

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/walletproc"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

func TestRestartsADeadInstanceOnItsOwnPortAndStopsAll(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real monero-wallet-rpc processes; unit-only mode (-short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{Count: 2, Dir: t.TempDir(), MinBackoff: 200 * time.Millisecond})
	require.NoError(t, err, "start wallet-rpc (make test installs monero)")
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()
	ins := s.Instances()
	require.Len(t, ins, 2)
	client := func(i int) *walletrpc.Client {
		return walletrpc.New(walletrpc.Config{URL: ins[i].URL, Username: ins[i].Username, Password: ins[i].Password, Timeout: 10 * time.Second})
	}
	for i := range ins {
		assert.NotEmpty(t, ins[i].Password, "each instance gets its own --rpc-login")
		_, err := client(i).GetVersion(ctx)
		require.NoError(t, err, "digest auth with the supervisor's credentials")
		assert.True(t, s.Healthy(ins[i].Name))
		preloaded, started := s.KeyCache(ins[i].Name)
		assert.True(t, started, "the supervisor knows the key cache of what it started")
		assert.Equal(t, os.Getenv(walletproc.EnvKeyCache) != "off", preloaded, "Debian's wallet-rpc takes the key cache")
	}
	_, started := s.KeyCache("nope")
	assert.False(t, started, "an instance the supervisor does not run")
	_, err = walletrpc.New(walletrpc.Config{URL: ins[0].URL}).GetVersion(ctx)
	assert.Error(t, err, "no credentials, no answer")

	first, second := ins[0].Name, ins[1].Name
	old := s.Pid(first)
	require.NoError(t, s.Kill(first))
	assert.Eventually(t, func() bool { return !s.Healthy(first) || s.Restarts(first) > 0 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return s.Restarts(first) == 1 && s.Healthy(first) }, 2*time.Minute, 100*time.Millisecond, "restarted")
	assert.NotEqual(t, old, s.Pid(first))
	_, err = client(0).GetVersion(ctx)
	assert.NoError(t, err, "same URL and credentials after the restart")
	assert.Zero(t, s.Restarts(second))
	assert.False(t, s.Healthy("nope"))

	pids := []int{s.Pid(first), s.Pid(second)}
	s.Stop()
	stopped = true
	for _, pid := range pids {
		assert.Error(t, syscall.Kill(pid, 0), "pid %d still runs after Stop", pid)
	}
}
