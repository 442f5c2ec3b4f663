package walletproc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// secretOptions are wallet-rpc's options whose value is a secret. Any local user reads a
// process's command line (/proc/PID/cmdline, ps), so these never go there: wallet-rpc reads
// them from its --config-file, which is a private in-memory file (privateConfig).
// rpc-login comes from Options.Username and Options.Password only.
var secretOptions = []string{"rpc-login", "daemon-login", "password", "rpc-client-secret-key"}

// splitSecretArgs separates the secret options in args ("--NAME VALUE" or "--NAME=VALUE")
// from the rest, returning the secret ones as config-file lines "NAME=VALUE".
func splitSecretArgs(args []string) (public, secret []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || !slices.Contains(secretOptions, name) || (!hasVal && i+1 == len(args)) {
			public = append(public, a)
			continue
		}
		if !hasVal {
			i++
			val = args[i]
		}
		secret = append(secret, name+"="+val)
	}
	return public, secret
}

// walletRPCConfig returns the lines of wallet-rpc's private config file: the rpc-login and
// any secret option of ExtraArgs, or nil if there are none. wallet-rpc parses the file with
// boost's config-file parser (wallet_args.cpp, the same option names without "--"), which
// ends a value at '#' or a line break and trims spaces, so such values are refused rather
// than cut.
func walletRPCConfig(opts Options) ([]string, error) {
	_, lines := splitSecretArgs(opts.ExtraArgs)
	for _, l := range lines {
		if strings.HasPrefix(l, "rpc-login=") {
			return nil, errors.New("--rpc-login in ExtraArgs: set Options.Username and Options.Password instead")
		}
	}
	if opts.login() {
		lines = append([]string{"rpc-login=" + opts.Username + ":" + opts.Password}, lines...)
	}
	for _, l := range lines {
		name, val, _ := strings.Cut(l, "=")
		if strings.ContainsAny(val, "#\n\r\x00") || strings.TrimSpace(val) != val {
			// The value itself is a secret: the error names the option only.
			return nil, fmt.Errorf("the value of %s has a '#', a line break or surrounding spaces, which wallet-rpc's config file cannot carry", name)
		}
	}
	return lines, nil
}

// privateConfig returns a sealed in-memory file (memfd) holding lines, for wallet-rpc's
// --config-file /proc/self/fd/N. It never touches a disk, so nothing is left behind when the
// worker crashes, and it has no name in any directory: only its holders reach it, through
// /proc/PID/fd, which the kernel opens to the same user (and root) only. Its mode is 0400
// all the same.
func privateConfig(lines []string) (*os.File, error) {
	fd, err := unix.MemfdCreate("wallet-rpc-config", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("wallet-rpc config: memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "wallet-rpc-config")
	err = unix.Fchmod(fd, 0o400)
	if err == nil {
		_, err = f.WriteString(strings.Join(lines, "\n") + "\n")
	}
	if err == nil {
		_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("wallet-rpc config: %w", err)
	}
	return f, nil
}

// privateDir makes dir (0700) if it is missing and makes sure it is this user's alone: a dir
// another user owns is refused, one that group or others may enter is narrowed to 0700.
// wallet-rpc's wallet and log dirs go through it.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if uid := fileOwner(fi); uid != os.Geteuid() {
		return fmt.Errorf("dir %s is owned by uid %d, not by this process's user (uid %d)", dir, uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("make %s private: %w", dir, err)
		}
	}
	return nil
}

// fileOwner is the uid that owns fi's file.
func fileOwner(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// errUnsafePlace marks a path another user could change.
var errUnsafePlace = errors.New("not a safe place")

// checkSafeParents checks every directory above path, which must be absolute and free of
// symlinks (filepath.EvalSymlinks), up to /, as ssh checks the path to a key: each is owned
// by this user or root, and neither group nor others may write to it, so no other user can
// rename or replace anything on the way. One exception: a root-owned sticky dir (/tmp) may be
// world-writable, since there only an entry's owner may rename or remove it, and the entry
// below it is checked to be this user's or root's.
func checkSafeParents(path string) error {
	uid := os.Geteuid()
	for p := filepath.Dir(path); ; p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		owner, mode := fileOwner(fi), fi.Mode()
		switch {
		case !fi.IsDir():
			return fmt.Errorf("%w: %s is not a directory", errUnsafePlace, p)
		case owner != uid && owner != 0:
			return fmt.Errorf("%w: %s is owned by uid %d (neither this user, uid %d, nor root)", errUnsafePlace, p, owner, uid)
		case mode.Perm()&0o022 != 0 && !(owner == 0 && mode&os.ModeSticky != 0):
			return fmt.Errorf("%w: %s is writable by group or others (mode %04o)", errUnsafePlace, p, mode.Perm())
		}
		if p == "/" {
			return nil
		}
	}
}
