package walletproc

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"debug/elf"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

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

var keyCache struct {
	mu   sync.Mutex
	path string
}

// KeyCache returns the path of the key-cache library to preload into wallet-rpc, building it
// once per source version into the user's cache dir with the system's C compiler ($CC, cc or
// gcc). It returns "" with no error when $XMR_ESCROW_KEYCACHE is "off".
func KeyCache() (string, error) {
	switch v := os.Getenv(EnvKeyCache); v {
	case "off":
		return "", nil
	case "":
	default:
		if _, err := os.Stat(v); err != nil {
			return "", fmt.Errorf("key cache from $%s: %w", EnvKeyCache, err)
		}
		return v, nil
	}
	keyCache.mu.Lock()
	defer keyCache.mu.Unlock()
	if keyCache.path != "" {
		return keyCache.path, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	sum := sha256.Sum256(keyCacheSource)
	path := filepath.Join(base, "xmr-escrow", "keycache", "keycache-"+hex.EncodeToString(sum[:6])+".so")
	if _, err := os.Stat(path); err == nil {
		keyCache.path = path
		return path, nil
	}
	if err := buildKeyCache(path); err != nil {
		return "", err
	}
	keyCache.path = path
	return path, nil
}

// buildKeyCache compiles the library into a temporary file next to path and renames it into
// place, so processes building at once never load a half-written library.
func buildKeyCache(path string) error {
	cc, err := compiler()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("build key cache: %w", err)
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), "build-")
	if err != nil {
		return fmt.Errorf("build key cache: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	src, out := filepath.Join(dir, "keycache.c"), filepath.Join(dir, "keycache.so")
	if err := os.WriteFile(src, keyCacheSource, 0o644); err != nil {
		return fmt.Errorf("build key cache: %w", err)
	}
	cmd := exec.Command(cc, "-O2", "-shared", "-fPIC", "-Wall", "-o", out, src)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build key cache with %s: %w: %s", cc, err, strings.TrimSpace(string(b)))
	}
	if err := os.Rename(out, path); err != nil {
		return fmt.Errorf("build key cache: %w", err)
	}
	return nil
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
// (disabled, or a binary that cannot take it).
func keyCacheEnv(bin string, opts Options) ([]string, *os.File, error) {
	if opts.NoKeyCache || !takesKeyCache(bin) {
		return nil, nil, nil
	}
	lib, err := KeyCache()
	if err != nil || lib == "" {
		return nil, nil, err
	}
	preload := lib
	if cur := os.Getenv("LD_PRELOAD"); cur != "" {
		preload = lib + ":" + cur
	}
	env := []string{"LD_PRELOAD=" + preload}
	key, err := handedKey()
	if err != nil {
		return nil, nil, err
	}
	return append(env, envKeyCacheFD+"=3"), key, nil
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
