package walletproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// EnvBinary names the monero-wallet-rpc binary to use instead of the one on
// PATH, so CI and developers can point at a build of their own.
const EnvBinary = "XMR_ESCROW_WALLET_RPC_BIN"

// howToGetMonero is the fix for a missing monero binary.
const howToGetMonero = "install it with `apt-get install -y monero` (make test does this)"

// Binary finds monero-wallet-rpc ($XMR_ESCROW_WALLET_RPC_BIN, then PATH, then /usr/bin).
func Binary() (string, error) {
	return MoneroBinary("monero-wallet-rpc", EnvBinary)
}

// MoneroBinary finds one of the Debian monero tools: $env if set (an error if
// it cannot be run: an explicit override that is broken is not a reason to
// fall back to another binary), then PATH, then /usr/bin. A missing binary's
// error says how to install it.
func MoneroBinary(name, env string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if err := CheckExecutable(p); err != nil {
			return "", fmt.Errorf("%s from $%s: %w; %s", name, env, err, howToGetMonero)
		}
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	// /usr/bin is where Debian puts it; it may be missing from a minimal PATH.
	p := filepath.Join("/usr/bin", name)
	if CheckExecutable(p) == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found (looked at $%s, $PATH, /usr/bin): %s", name, env, howToGetMonero)
}

// CheckExecutable reports why path cannot be run, or nil if it can.
func CheckExecutable(path string) error {
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
