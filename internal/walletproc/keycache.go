package walletproc

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"debug/elf"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// EnvKeyCache overrides the key cache: a path to a built library to preload, or "off" to
// run wallet-rpc without it.
const EnvKeyCache = "XMR_ESCROW_KEYCACHE"

// EnvKeyCacheLog names a file the key cache appends "loaded", "generated" or "reused" to on
// every RSA key wallet-rpc asks for; tests count keys with it.
const EnvKeyCacheLog = "XMR_ESCROW_KEYCACHE_LOG"

// envKeyCacheFD tells the preloaded key cache which inherited descriptor holds the handed-over key.
const envKeyCacheFD = "XMR_ESCROW_KEYCACHE_FD"

// handedKeyBits is the size of the key wallet-rpc 0.18 asks OpenSSL for on each create and open.
const handedKeyBits = 4096

// keyCacheSource is the preload library's C source (see its header for what it does and why).
//
//go:embed csrc/keycache.c
var keyCacheSource []byte

// howToGetCC is the fix for a missing C compiler.
const howToGetCC = "install a C compiler (`apt-get install -y gcc`; make tools does), point $" + EnvKeyCache +
	" at a built library, or set " + EnvKeyCache + "=off to run wallet-rpc without the key cache"

// ErrKeyCacheUnsafe marks a key cache that is off because its library has no safe place (a
// directory only this user can change) or is not the library that was built there. wallet-rpc
// then runs without it (WalletRPC.KeyCacheOff says why): a library another user could have
// planted is never preloaded.
var ErrKeyCacheUnsafe = errors.New("key cache off")

var keyCache struct {
	mu sync.Mutex
	// sums are the SHA-256 of each library as built (or, for $XMR_ESCROW_KEYCACHE, as first
	// seen), checked before every preload.
	sums map[string][sha256.Size]byte
}

// KeyCache returns the path of the key-cache library to preload into wallet-rpc, checked as
// safe to load; it returns "" with no error when $XMR_ESCROW_KEYCACHE is "off".
//
// The library is built once per source version with the system's C compiler ($CC, cc or gcc)
// into $XDG_CACHE_HOME/xmr-escrow/keycache (or ~/.cache/...), a dir this user owns, 0700, with
// its SHA-256 next to it (keycache-*.so.sha256). Each call, so before every preload, checks
// that the dir is this user's alone (mode 0700, group and others can write no dir above it:
// checkSafeParents) and that the file is the one built (owner, mode and SHA-256). With neither
// $XDG_CACHE_HOME nor $HOME there is no such dir, and the key cache is off: it is never put in a
// shared temporary dir. Those refusals wrap ErrKeyCacheUnsafe; a missing compiler does not.
func KeyCache() (string, error) {
	switch v := os.Getenv(EnvKeyCache); v {
	case "off":
		return "", nil
	case "":
	default:
		if _, err := os.Stat(v); err != nil {
			return "", fmt.Errorf("key cache from $%s: %w", EnvKeyCache, err)
		}
		return givenKeyCache(v)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("%w: no safe place for its library (%v), and it is never built in a shared temporary dir; set $HOME or $XDG_CACHE_HOME, or $%s", ErrKeyCacheUnsafe, err, EnvKeyCache)
	}
	dir, err := keyCacheDir(filepath.Join(base, "xmr-escrow", "keycache"))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(keyCacheSource)
	path := filepath.Join(dir, "keycache-"+hex.EncodeToString(sum[:6])+".so")
	keyCache.mu.Lock()
	defer keyCache.mu.Unlock()
	if want, ok := keyCache.sums[path]; ok {
		if err := checkLibrary(path, want, false); err != nil {
			delete(keyCache.sums, path) // the next start builds it again
			return "", err
		}
		return path, nil
	}
	unlock, err := lockDir(dir) // another process may be building it
	if err != nil {
		return "", err
	}
	defer unlock()
	want, ok := recordedSum(path)
	if !ok || checkLibrary(path, want, false) != nil {
		// None yet, or an older build without its sum (or not the one recorded): build it.
		if want, err = buildKeyCache(dir, path); err != nil {
			return "", err
		}
	}
	if keyCache.sums == nil {
		keyCache.sums = map[string][sha256.Size]byte{}
	}
	keyCache.sums[path] = want
	return path, nil
}

// keyCacheDir makes dir (0700) if missing and checks that only this user can change it or
// anything in it: dir is this user's, neither group nor others can write to it (if they may
// read or enter it, it is narrowed to 0700; if they could write, whatever it holds may be
// theirs, so it is refused), and no dir above it lets another user swap it
// (checkSafeParents). It returns dir with symlinks resolved, the path used from then on.
func keyCacheDir(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("%w: no safe place for its library: %w", ErrKeyCacheUnsafe, err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return "", fmt.Errorf("%w: no safe place for its library: %w", ErrKeyCacheUnsafe, err)
	}
	fi, err := os.Lstat(real)
	if err != nil {
		return "", fmt.Errorf("%w: no safe place for its library: %w", ErrKeyCacheUnsafe, err)
	}
	uid := os.Geteuid()
	switch owner := fileOwner(fi); {
	case !fi.IsDir():
		return "", fmt.Errorf("%w: %s is not a directory", ErrKeyCacheUnsafe, real)
	case owner != uid:
		return "", fmt.Errorf("%w: its dir %s is owned by uid %d, not by this user (uid %d); remove it", ErrKeyCacheUnsafe, real, owner, uid)
	case fi.Mode().Perm()&0o022 != 0:
		return "", fmt.Errorf("%w: its dir %s is writable by group or others (mode %04o), so its library may not be ours; remove the dir", ErrKeyCacheUnsafe, real, fi.Mode().Perm())
	case fi.Mode().Perm()&0o077 != 0:
		if err := os.Chmod(real, 0o700); err != nil {
			return "", fmt.Errorf("%w: make %s private: %w", ErrKeyCacheUnsafe, real, err)
		}
	}
	if err := checkSafeParents(real); err != nil {
		return "", fmt.Errorf("%w: its dir %s: %w", ErrKeyCacheUnsafe, real, err)
	}
	return real, nil
}

// givenKeyCache checks a library named by $XMR_ESCROW_KEYCACHE as KeyCache checks its own,
// except that it may be root's (a package's) and its SHA-256 is the one first seen by this
// process.
func givenKeyCache(path string) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return "", fmt.Errorf("key cache from $%s: %w", EnvKeyCache, err)
	}
	if err := checkSafeParents(real); err != nil {
		return "", fmt.Errorf("%w: $%s=%s: %w", ErrKeyCacheUnsafe, EnvKeyCache, path, err)
	}
	keyCache.mu.Lock()
	defer keyCache.mu.Unlock()
	want, ok := keyCache.sums[real]
	if !ok {
		if want, err = fileSum(real); err != nil {
			return "", fmt.Errorf("key cache from $%s: %w", EnvKeyCache, err)
		}
	}
	if err := checkLibrary(real, want, true); err != nil {
		return "", err
	}
	if keyCache.sums == nil {
		keyCache.sums = map[string][sha256.Size]byte{}
	}
	keyCache.sums[real] = want
	return real, nil
}

// checkLibrary checks the library at path before it is preloaded: a regular file (not a
// symlink), this user's (or root's, if rootOK), that neither group nor others may write, whose
// SHA-256 is want. The checks read the one open file, so they all see the same file.
func checkLibrary(path string, want [sha256.Size]byte, rootOK bool) error {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeyCacheUnsafe, err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeyCacheUnsafe, err)
	}
	uid, owner := os.Geteuid(), fileOwner(fi)
	switch {
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a regular file", ErrKeyCacheUnsafe, path)
	case owner != uid && !(rootOK && owner == 0):
		return fmt.Errorf("%w: %s is owned by uid %d, not by this user (uid %d)", ErrKeyCacheUnsafe, path, owner, uid)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%w: %s is writable by group or others (mode %04o)", ErrKeyCacheUnsafe, path, fi.Mode().Perm())
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("%w: %w", ErrKeyCacheUnsafe, err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
		return fmt.Errorf("%w: %s is not the library that was built (SHA-256 %x, want %x)", ErrKeyCacheUnsafe, path, got, want)
	}
	return nil
}

// fileSum is the SHA-256 of the file at path.
func fileSum(path string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	b, err := os.ReadFile(path)
	if err != nil {
		return sum, err
	}
	return sha256.Sum256(b), nil
}

// sumPath is where the SHA-256 of the library at path is recorded when it is built, in
// sha256sum's format.
func sumPath(path string) string { return path + ".sha256" }

// recordedSum reads the SHA-256 recorded for the library at path.
func recordedSum(path string) ([sha256.Size]byte, bool) {
	var sum [sha256.Size]byte
	b, err := os.ReadFile(sumPath(path))
	if err != nil {
		return sum, false
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return sum, false
	}
	n, err := hex.Decode(sum[:], []byte(fields[0]))
	return sum, err == nil && n == sha256.Size
}

// lockDir takes an exclusive lock on dir's .lock file, so one process builds at a time.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("key cache: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("key cache: lock %s: %w", dir, err)
	}
	return func() { _ = f.Close() }, nil
}

// buildKeyCache compiles the library in a private temporary dir inside dir, records its
// SHA-256 and renames both into place (the library first), so a process never loads a
// half-written library, and returns the SHA-256. dir is keyCacheDir's, and the caller holds
// its lock.
func buildKeyCache(dir, path string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	cc, err := compiler()
	if err != nil {
		return sum, err
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return sum, fmt.Errorf("build key cache: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	src, out, sumFile := filepath.Join(tmp, "keycache.c"), filepath.Join(tmp, "keycache.so"), filepath.Join(tmp, "keycache.so.sha256")
	if err := os.WriteFile(src, keyCacheSource, 0o600); err != nil {
		return sum, fmt.Errorf("build key cache: %w", err)
	}
	cmd := exec.Command(cc, "-O2", "-shared", "-fPIC", "-Wall", "-o", out, src)
	if b, err := cmd.CombinedOutput(); err != nil {
		return sum, fmt.Errorf("build key cache with %s: %w: %s", cc, err, strings.TrimSpace(string(b)))
	}
	// The loader only reads and maps it: no one needs to execute or write it.
	if err := os.Chmod(out, 0o400); err != nil {
		return sum, fmt.Errorf("build key cache: %w", err)
	}
	if sum, err = fileSum(out); err != nil {
		return sum, fmt.Errorf("build key cache: %w", err)
	}
	line := hex.EncodeToString(sum[:]) + "  " + filepath.Base(path) + "\n"
	if err := os.WriteFile(sumFile, []byte(line), 0o600); err != nil {
		return sum, fmt.Errorf("build key cache: %w", err)
	}
	if err := os.Rename(out, path); err != nil {
		return sum, fmt.Errorf("build key cache: %w", err)
	}
	if err := os.Rename(sumFile, sumPath(path)); err != nil {
		return sum, fmt.Errorf("build key cache: %w", err)
	}
	return sum, nil
}

// compiler finds the C compiler: $CC, then cc, then gcc.
func compiler() (string, error) {
	names := []string{"cc", "gcc"}
	if cc := os.Getenv("CC"); cc != "" {
		names = append([]string{cc}, names...)
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", errors.New("key cache: no C compiler found ($CC, cc, gcc): " + howToGetCC)
}

var importsKeygen sync.Map // binary path → bool

// takesKeyCache reports whether bin links OpenSSL's RSA_generate_key_ex dynamically, so a
// preload can replace it. The official static Monero release does not; there the preload
// would do nothing, and is not passed.
func takesKeyCache(bin string) bool {
	if v, ok := importsKeygen.Load(bin); ok {
		return v.(bool)
	}
	f, err := elf.Open(bin)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	syms, err := f.ImportedSymbols()
	ok := err == nil && slices.ContainsFunc(syms, func(s elf.ImportedSymbol) bool { return s.Name == "RSA_generate_key_ex" })
	importsKeygen.Store(bin, ok)
	return ok
}

// keyCacheEnv returns the environment that preloads the key cache into bin and the file that
// hands it this process's key (the child's descriptor 3), or nil when it does not apply
// (disabled, or a binary that cannot take it). When it was wanted but its library is not safe
// to load (ErrKeyCacheUnsafe), it returns nil and off says why.
func keyCacheEnv(bin string, opts Options) (env []string, key *os.File, off string, err error) {
	if opts.NoKeyCache || !takesKeyCache(bin) {
		return nil, nil, "", nil
	}
	lib, err := KeyCache()
	if errors.Is(err, ErrKeyCacheUnsafe) {
		return nil, nil, err.Error(), nil
	}
	if err != nil || lib == "" {
		return nil, nil, "", err
	}
	preload := lib
	if cur := os.Getenv("LD_PRELOAD"); cur != "" {
		preload = lib + ":" + cur
	}
	env = []string{"LD_PRELOAD=" + preload}
	if key, err = handedKey(); err != nil {
		return nil, nil, "", err
	}
	return append(env, envKeyCacheFD+"=3"), key, "", nil
}

var handed struct {
	once sync.Once
	f    *os.File
	err  error
}

// handedKey returns a sealed in-memory file with one RSA key (PKCS#1 DER), made once per
// process and handed to every wallet-rpc it starts: without it each new instance searches
// primes for its first key, 1-2 CPU-s, which a pool that grows or restarts pays per instance.
// The key is the one the multisig messaging transport would make and never use; it never
// touches a disk.
func handedKey() (*os.File, error) {
	handed.once.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, handedKeyBits)
		if err != nil {
			handed.err = fmt.Errorf("key cache: generate the handed key: %w", err)
			return
		}
		der := x509.MarshalPKCS1PrivateKey(k)
		fd, err := unix.MemfdCreate("xmr-escrow-keycache", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
		if err != nil {
			handed.err = fmt.Errorf("key cache: memfd: %w", err)
			return
		}
		f := os.NewFile(uintptr(fd), "xmr-escrow-keycache")
		_, err = f.Write(der)
		if err == nil {
			_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE)
		}
		if err != nil {
			_ = f.Close()
			handed.err = fmt.Errorf("key cache: write the handed key: %w", err)
			return
		}
		handed.f = f
	})
	return handed.f, handed.err
}
