package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/devstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

func TestReleaseOfMapsInterfaceVersionsToMissingFixes(t *testing.T) {
	all := []string{"v0.18.1.2", "v0.18.3.0", "v0.18.3.2", "v0.18.4.1", "v0.18.5.0", "v0.18.5.1"}
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
		{1, 31, "v0.18.5.1", nil, nil}, // what the production image pins
		{1, 32, "later than v0.18.5.1", nil, nil},
		{2, 0, "later than v0.18.5.1", nil, nil},
		{1, 24, "older than v0.18.0.0", all, nil},
	} {
		r := ReleaseOf(walletrpc.GetVersionResult{Version: tc.major<<16 | tc.minor})
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
	s := ReleaseOf(walletrpc.GetVersionResult{Version: 1<<16 | 26}).String()
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
	rep, err := CheckRelease(ctx, walletrpc.New(walletrpc.Config{URL: r.URL}))
	require.NoError(t, err)
	// Debian's v0.18.0.0 (the only one installable here) answers version 65561, release false.
	assert.Equal(t, uint32(1<<16|25), rep.Version)
	assert.Len(t, rep.Missing, len(multisigFixes))
	t.Log(rep)
}
