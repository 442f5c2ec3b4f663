package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

func TestReleaseOfMapsInterfaceVersionsToMissingFixes(t *testing.T) {
	all := []string{"v0.18.1.2", "v0.18.3.0", "v0.18.3.2", "v0.18.4.1", "v0.18.5.0", "v0.18.5.1", "v0.18.5.3"}
	for _, tc := range []struct {
		major, minor uint32
		releases     string
		missing      []string
		uncertain    []string
	}{
		{1, 25, "v0.18.0.0–v0.18.1.1", all, nil}, // Debian's 0.18.0.0
		{1, 26, "v0.18.1.2–v0.18.3.1", all[1:], []string{"v0.18.3.0"}},
		{1, 27, "v0.18.3.2–v0.18.3.4", all[3:], nil},
		{1, 28, "v0.18.4.0", all[3:], nil},
		{1, 29, "v0.18.4.1–v0.18.4.6", all[4:], nil},
		{1, 30, "v0.18.5.0", all[5:], nil},
		{1, 31, "v0.18.5.1", all[6:], nil}, // what the production image pins
		{1, 32, "v0.18.5.3", nil, nil},     // Debian's 0.18.5.3, which the tests run
		{1, 33, "later than v0.18.5.3", nil, nil},
		{2, 0, "later than v0.18.5.3", nil, nil},
		{1, 24, "older than v0.18.0.0", all, nil},
	} {
		r := MoneroVersionOf(walletrpc.GetVersionResult{Version: tc.major<<16 | tc.minor})
		assert.Equal(t, tc.releases, r.Releases, "%d.%d", tc.major, tc.minor)
		var missing, uncertain []string
		for _, m := range r.Missing {
			missing = append(missing, m.Release)
			if m.Uncertain {
				uncertain = append(uncertain, m.Release)
			}
			assert.NotEmpty(t, m.Fix)
		}
		assert.Equal(t, tc.missing, missing, "%d.%d", tc.major, tc.minor)
		assert.Equal(t, tc.uncertain, uncertain, "%d.%d", tc.major, tc.minor)
	}
}

func TestReleaseReportReadsAsOneLine(t *testing.T) {
	s := MoneroVersionOf(walletrpc.GetVersionResult{Version: 1<<16 | 26}).String()
	assert.Contains(t, s, "wallet-rpc interface 1.26 (v0.18.1.2–v0.18.3.1)")
	assert.Contains(t, s, "may lack v0.18.3.0")
	assert.Contains(t, s, "lacks v0.18.5.1")
	assert.NotContains(t, s, "\n")
}

func TestCheckReleaseOfTheInstalledWalletRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs a real monero-wallet-rpc (drop -short to run it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := devstack.StartWalletRPC(ctx, devstack.WalletRPCOptions{Name: "version", Dir: t.TempDir(), Offline: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Stop() })
	rep, err := CheckMoneroVersion(ctx, walletrpc.New(walletrpc.Config{URL: r.URL}))
	require.NoError(t, err)
	// Debian's v0.18.5.3 (make tools) answers version 65568, release false.
	assert.Equal(t, uint32(1<<16|32), rep.Version)
	assert.Equal(t, "v0.18.5.3", rep.Releases)
	assert.Empty(t, rep.Missing)
	assert.NoError(t, rep.Refusal(), "the worker runs on the release the tests run")
	t.Log(rep)
}

// TestTheWorkerRefusesAnInterfaceOlderThanTheTestedRelease: 0.18.5.3 alone has interface
// 1.32 (there is no CLI 0.18.5.2), so everything older is refused, with the version found,
// the one needed and how to get it; later interfaces are served.
func TestTheWorkerRefusesAnInterfaceOlderThanTheTestedRelease(t *testing.T) {
	minor, oldest := requiredInterface()
	assert.Equal(t, uint32(32), minor)
	assert.Equal(t, RequiredMoneroVersion, oldest, "no older release shares 0.18.5.3's interface")
	for m := uint32(24); m < 32; m++ {
		err := MoneroVersionOf(walletrpc.GetVersionResult{Version: 1<<16 | m}).Refusal()
		require.Error(t, err, "1.%d", m)
	}
	err := MoneroVersionOf(walletrpc.GetVersionResult{Version: 1<<16 | 25}).Refusal()
	require.Error(t, err)
	for _, want := range []string{"interface 1.25 (v0.18.0.0–v0.18.1.1) is too old", "needs interface 1.32 or later", "Monero v0.18.5.3 or later", "make tools"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Contains(t, MoneroVersionOf(walletrpc.GetVersionResult{Version: 1<<16 | 31}).Refusal().Error(), "interface 1.31 (v0.18.5.1)")
	assert.Contains(t, MoneroVersionOf(walletrpc.GetVersionResult{Version: 0<<16 | 40}).Refusal().Error(), "older than v0.18.0.0")
	for _, v := range []uint32{1<<16 | 32, 1<<16 | 33, 2 << 16} {
		assert.NoError(t, MoneroVersionOf(walletrpc.GetVersionResult{Version: v}).Refusal(), "%#x", v)
	}
}
