// Package devstack starts and stops the real local components that tests and
// `make run` need: the Temporal CLI dev server and monero-wallet-rpc
// processes. Every process binds 127.0.0.1 only, gets ports chosen by us (so
// parallel tests never collide), and dies with the process that started it.
package devstack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Environment variables that override where binaries are looked up, so CI and
// developers can point at a build of their own without touching PATH.
const (
	// EnvTemporalBin names the temporal CLI binary to use.
	EnvTemporalBin = "XMR_ESCROW_TEMPORAL"
	// EnvWalletRPCBin names the monero-wallet-rpc binary to use.
	EnvWalletRPCBin = "XMR_ESCROW_WALLET_RPC_BIN"
	// EnvMonerodBin names the monerod binary to use.
	EnvMonerodBin = "XMR_ESCROW_MONEROD_BIN"
)

// howToGetTemporal is part of every lookup error so a failing test tells the
// reader the one command that fixes it.
const howToGetTemporal = "run `make tools` (builds it with go install github.com/temporalio/cli/cmd/temporal@v1.5.1 into ~/.cache/xmr-escrow/bin)"

// howToGetMonero is the fix for a missing monero binary.
const howToGetMonero = "install it with `apt-get install -y monero` (make test does this)"

// TemporalBinary finds the temporal CLI: $XMR_ESCROW_TEMPORAL, then
// $XDG_CACHE_HOME/xmr-escrow/bin/temporal (default ~/.cache/xmr-escrow/bin/temporal), then PATH.
func TemporalBinary() (string, error) {
	var tried []string
	if p := os.Getenv(EnvTemporalBin); p != "" {
		// An explicit override that is broken is an error, not a reason to
		// silently fall back to some other binary.
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("temporal CLI from $%s: %w; %s", EnvTemporalBin, err, howToGetTemporal)
		}
		return p, nil
	}
	if dir, err := ToolsBinDir(); err == nil {
		p := filepath.Join(dir, "temporal")
		if checkExecutable(p) == nil {
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

// WalletRPCBinary finds monero-wallet-rpc ($XMR_ESCROW_WALLET_RPC_BIN, then PATH, then /usr/bin).
func WalletRPCBinary() (string, error) {
	return moneroBinary("monero-wallet-rpc", EnvWalletRPCBin)
}

// MonerodBinary finds monerod ($XMR_ESCROW_MONEROD_BIN, then PATH, then /usr/bin).
func MonerodBinary() (string, error) {
	return moneroBinary("monerod", EnvMonerodBin)
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

// moneroBinary implements the shared lookup order for the Debian monero tools.
func moneroBinary(name, env string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("%s from $%s: %w; %s", name, env, err, howToGetMonero)
		}
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	// /usr/bin is where Debian puts it; it may be missing from a minimal PATH.
	p := filepath.Join("/usr/bin", name)
	if checkExecutable(p) == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found (looked at $%s, $PATH, /usr/bin): %s", name, env, howToGetMonero)
}

// checkExecutable reports why path cannot be run, or nil if it can.
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New(path + " is a directory")
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return errors.New(path + " is not executable")
	}
	return nil
}
