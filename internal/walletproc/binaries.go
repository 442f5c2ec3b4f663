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

// MoneroVersion is the Monero release the tests and `make run` run: Debian's build, which
// scripts/tools.sh installs into MoneroBinDir.
const MoneroVersion = "0.18.5.3"

// howToGetMonero is the fix for a missing monero binary.
const howToGetMonero = "run `make tools` (scripts/tools.sh installs Debian's monero " + MoneroVersion +
	" into ~/.cache/xmr-escrow/monero-" + MoneroVersion + "/bin)"

// Binary finds monero-wallet-rpc ($XMR_ESCROW_WALLET_RPC_BIN, then MoneroBinDir, then PATH).
func Binary() (string, error) {
	return MoneroBinary("monero-wallet-rpc", EnvBinary)
}

// MoneroBinDir is where `make tools` puts monerod and monero-wallet-rpc MoneroVersion:
// $XDG_CACHE_HOME/xmr-escrow/monero-0.18.5.3/bin, or ~/.cache/xmr-escrow/monero-0.18.5.3/bin.
func MoneroBinDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locate the monero %s cache: %w", MoneroVersion, err)
	}
	return filepath.Join(cache, "xmr-escrow", "monero-"+MoneroVersion, "bin"), nil
}

// MoneroBinary finds one of the monero tools: $env if set (an error if it cannot be run: an
// explicit override that is broken is not a reason to fall back to another binary), then
// the MoneroVersion that `make tools` installs (MoneroBinDir), then PATH. A missing
// binary's error says how to install it.
func MoneroBinary(name, env string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if err := CheckExecutable(p); err != nil {
			return "", fmt.Errorf("%s from $%s: %w; %s", name, env, err, howToGetMonero)
		}
		return p, nil
	}
	tried := "$" + env
	if dir, err := MoneroBinDir(); err == nil {
		p := filepath.Join(dir, name)
		if CheckExecutable(p) == nil {
			return p, nil
		}
		tried += ", " + p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found (looked at %s, $PATH): %s", name, tried, howToGetMonero)
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
