package devstack

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/walletproc/proctest"
)

func TestTemporalBinaryMissingSaysHowToGetIt(t *testing.T) {
	t.Setenv(EnvTemporalBin, filepath.Join(t.TempDir(), "no-such-temporal"))
	_, err := TemporalBinary()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "run `make tools` (builds it with go install github.com/temporalio/cli/cmd/temporal@v1.5.1 into ~/.cache/xmr-escrow/bin)")

	_, err = StartTemporal(t.Context(), TemporalOptions{Dir: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "make tools")
}

func TestMoneroBinaryMissingSaysHowToGetIt(t *testing.T) {
	t.Setenv(EnvWalletRPCBin, filepath.Join(t.TempDir(), "nope"))
	t.Setenv(EnvMonerodBin, filepath.Join(t.TempDir(), "nope"))
	for _, find := range []func() (string, error){WalletRPCBinary, MonerodBinary} {
		_, err := find()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "run `make tools` (scripts/tools.sh installs Debian's monero 0.18.5.3 into ~/.cache/xmr-escrow/monero-0.18.5.3/bin)")
	}
}

func TestBinariesPresent(t *testing.T) {
	proctest.SkipShort(t)
	// Never skip on a missing binary: the error tells how to install it.
	for name, find := range map[string]func() (string, error){
		"temporal": TemporalBinary, "monero-wallet-rpc": WalletRPCBinary, "monerod": MonerodBinary,
	} {
		p, err := find()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %s", name, p)
	}
}
