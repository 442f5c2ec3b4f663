// Package devstack starts and stops the real local components that tests and
// `make run` need: the Temporal CLI dev server, a regtest monerod and
// monero-wallet-rpc processes. Every process binds 127.0.0.1 only, gets ports
// chosen by us (so parallel tests never collide), and dies with the process
// that started it. Processes, ports and wallet-rpc come from
// internal/walletproc, which the production supervisor uses too; production
// code never imports devstack.
package devstack

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/xmr-escrow/xmr-escrow/internal/walletproc"
)

// Environment variables that override where binaries are looked up, so CI and
// developers can point at a build of their own without touching PATH.
const (
	// EnvTemporalBin names the temporal CLI binary to use.
	EnvTemporalBin = "XMR_ESCROW_TEMPORAL"
	// EnvWalletRPCBin names the monero-wallet-rpc binary to use.
	EnvWalletRPCBin = walletproc.EnvBinary
	// EnvMonerodBin names the monerod binary to use.
	EnvMonerodBin = "XMR_ESCROW_MONEROD_BIN"
)

// howToGetTemporal is part of every lookup error so a failing test tells the
// reader the one command that fixes it.
const howToGetTemporal = "run `make tools` (builds it with go install github.com/temporalio/cli/cmd/temporal@v1.5.1 into ~/.cache/xmr-escrow/bin)"

// TemporalBinary finds the temporal CLI: $XMR_ESCROW_TEMPORAL, then
// $XDG_CACHE_HOME/xmr-escrow/bin/temporal (default ~/.cache/xmr-escrow/bin/temporal), then PATH.
func TemporalBinary() (string, error) {
	var tried []string
	if p := os.Getenv(EnvTemporalBin); p != "" {
		// An explicit override that is broken is an error, not a reason to
		// silently fall back to some other binary.
		if err := walletproc.CheckExecutable(p); err != nil {
			return "", fmt.Errorf("temporal CLI from $%s: %w; %s", EnvTemporalBin, err, howToGetTemporal)
		}
		return p, nil
	}
	if dir, err := ToolsBinDir(); err == nil {
		p := filepath.Join(dir, "temporal")
		if walletproc.CheckExecutable(p) == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	tried = append(tried, "$PATH")
	return "", fmt.Errorf("temporal CLI not found (looked at $%s, %v): %s", EnvTemporalBin, tried, howToGetTemporal)
}

// MonerodBinary finds monerod ($XMR_ESCROW_MONEROD_BIN, then the monero 0.18.5.3 that
// `make tools` installs (walletproc.MoneroBinDir), then PATH).
func MonerodBinary() (string, error) {
	return walletproc.MoneroBinary("monerod", EnvMonerodBin)
}

// ToolsBinDir is where `make tools` installs project tools:
// $XDG_CACHE_HOME/xmr-escrow/bin, or ~/.cache/xmr-escrow/bin.
func ToolsBinDir() (string, error) {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("locate tools dir: %w", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "xmr-escrow", "bin"), nil
}
