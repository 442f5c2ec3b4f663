package walletproc

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/walletproc/proctest"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// TestNoWalletRPCCommandLineHoldsAPassword: any local user reads every process's command line
// (/proc/PID/cmdline, ps), and with wallet-rpc's rpc-login `query_key mnemonic` returns the
// open wallet's seed. Started through walletproc with a login (and a daemon login in
// ExtraArgs), wallet-rpc's command line, its environment and its console log hold neither
// password, yet the login is enforced; another user (nobody) reads the command line but not
// the private config file wallet-rpc read them from.
func TestNoWalletRPCCommandLineHoldsAPassword(t *testing.T) {
	proctest.SkipShort(t)
	t.Parallel()
	password, daemonPassword := randomSecret(t), randomSecret(t)
	w, err := Start(t.Context(), Options{
		Name: "login", Dir: t.TempDir(), Offline: true, Username: "escrow", Password: password,
		ExtraArgs: []string{"--daemon-login", "monerod:" + daemonPassword},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Stop() })
	pid := strconv.Itoa(w.Proc.Pid())

	cmdline, err := os.ReadFile("/proc/" + pid + "/cmdline")
	require.NoError(t, err)
	environ, err := os.ReadFile("/proc/" + pid + "/environ")
	require.NoError(t, err)
	console, err := os.ReadFile(w.Proc.LogPath)
	require.NoError(t, err)
	for what, b := range map[string][]byte{"command line": cmdline, "environment": environ, "console log": console} {
		assert.NotContains(t, string(b), password, "the rpc-login password is in wallet-rpc's %s", what)
		assert.NotContains(t, string(b), daemonPassword, "the daemon-login password is in wallet-rpc's %s", what)
	}
	args := strings.Split(string(cmdline), "\x00")
	assert.NotContains(t, args, "--rpc-login")
	assert.NotContains(t, args, "--daemon-login")
	assert.NotContains(t, args, "--disable-rpc-login", "the login is on")
	require.Contains(t, args, "--config-file")

	// The login is enforced, with the password given, so wallet-rpc did read the file.
	res, err := http.Post(w.URL+"/json_rpc", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":"0","method":"get_version"}`))
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	_, err = walletrpc.New(walletrpc.Config{URL: w.URL, Username: "escrow", Password: "wrong"}).GetVersion(t.Context())
	assert.ErrorIs(t, err, walletrpc.ErrUnauthorized)
	_, err = walletrpc.New(walletrpc.Config{URL: w.URL, Username: "escrow", Password: password}).GetVersion(t.Context())
	assert.NoError(t, err)

	// The config file is an in-memory file that only wallet-rpc (and we, until it started)
	// held open: no path on any disk. Another user can read the command line, not the file.
	cfg := args[indexOf(args, "--config-file")+1]
	fd := strings.TrimPrefix(cfg, "/proc/self/fd/")
	link, err := os.Readlink("/proc/" + pid + "/fd/" + fd)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(link, "/memfd:wallet-rpc-config"), "the config is a memfd, not a file on disk: %s", link)
	if os.Geteuid() != 0 {
		t.Log("not root: the check as another user (nobody) is skipped")
		return
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Log("no setpriv: the check as another user (nobody) is skipped")
		return
	}
	asNobody := func(path string) ([]byte, error) {
		return exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--", "cat", path).CombinedOutput()
	}
	out, err := asNobody("/proc/" + pid + "/cmdline")
	require.NoError(t, err, "another user reads the command line: %s", out)
	assert.Contains(t, string(out), "--config-file")
	assert.NotContains(t, string(out), password)
	out, err = asNobody("/proc/" + pid + "/fd/" + fd)
	require.Error(t, err, "another user must not read wallet-rpc's config file")
	assert.NotContains(t, string(out), password)
	assert.Contains(t, string(out), "Permission denied")
}

// TestSecretOptionsGoToTheConfigFileNotTheCommandLine: the login, and a secret option a
// caller puts in ExtraArgs, become config-file lines; a value the config file would cut is
// refused with an error that does not quote it.
func TestSecretOptionsGoToTheConfigFileNotTheCommandLine(t *testing.T) {
	o := Options{Username: "escrow", Password: "pw1", ExtraArgs: []string{
		"--log-level", "2", "--daemon-login", "d:pw2", "--password=pw3", "--rpc-client-secret-key", "pw4", "--daemon-ssl", "disabled",
	}}
	args := walletRPCArgs(18083, "/w", "/w/x.log", o)
	for _, secret := range []string{"pw1", "pw2", "pw3", "pw4"} {
		assert.NotContains(t, strings.Join(args, " "), secret)
	}
	assert.Contains(t, args, "--log-level")
	assert.Contains(t, args, "--daemon-ssl")
	lines, err := walletRPCConfig(o)
	require.NoError(t, err)
	assert.Equal(t, []string{"rpc-login=escrow:pw1", "daemon-login=d:pw2", "password=pw3", "rpc-client-secret-key=pw4"}, lines)

	lines, err = walletRPCConfig(Options{Offline: true})
	require.NoError(t, err)
	assert.Nil(t, lines, "no login, no secret: no config file")
	assert.Contains(t, walletRPCArgs(18083, "/w", "/w/x.log", Options{}), "--disable-rpc-login")

	_, err = walletRPCConfig(Options{ExtraArgs: []string{"--rpc-login", "u:p"}})
	assert.ErrorContains(t, err, "Options.Username")
	for _, bad := range []string{"a#b", "a\nb", "a\rb", "ab "} {
		_, err = walletRPCConfig(Options{Username: "escrow", Password: bad})
		require.Error(t, err, "%q", bad)
		assert.NotContains(t, err.Error(), bad)
	}
}

// TestWalletDirsLogsAndTheKeyCacheArePrivate: a wallet dir and a log dir that group and others
// could enter are narrowed to 0700, wallet-rpc writes its wallets and logs 0600 (an older
// 0644 log is narrowed), the key cache
// dir is 0700 and its library and recorded SHA-256 are readable by this user only. A wallet
// dir another user owns is refused.
func TestWalletDirsLogsAndTheKeyCacheArePrivate(t *testing.T) {
	proctest.SkipShort(t)
	dir, logDir := filepath.Join(t.TempDir(), "wallets"), filepath.Join(t.TempDir(), "logs")
	for _, d := range []string{dir, logDir} {
		require.NoError(t, os.Mkdir(d, 0o755))
		require.NoError(t, os.Chmod(d, 0o755))
	}
	older := filepath.Join(logDir, "modes.out") // an older version's console log, 0644
	require.NoError(t, os.WriteFile(older, []byte("=== an older start\n"), 0o644))
	require.NoError(t, os.Chmod(older, 0o644))
	w, err := Start(t.Context(), Options{Name: "modes", Dir: dir, LogDir: logDir, Offline: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Stop() })
	rpcCall(t, w.URL, "create_wallet", `{"filename":"w","password":"p","language":"English"}`)
	require.NoError(t, w.Stop())

	assertMode(t, dir, 0o700)
	assertMode(t, logDir, 0o700)
	for _, f := range []string{"w", "w.keys"} {
		assertMode(t, filepath.Join(dir, f), 0o600)
	}
	assertMode(t, filepath.Join(logDir, "modes.log"), 0o600)
	assertMode(t, filepath.Join(logDir, "modes.out"), 0o600)

	if w.KeyCache {
		lib, err := KeyCache()
		require.NoError(t, err)
		assertMode(t, filepath.Dir(lib), 0o700)
		assertMode(t, lib, 0o400)
		assertMode(t, sumPath(lib), 0o600)
	}

	if os.Geteuid() == 0 {
		theirs := t.TempDir()
		require.NoError(t, os.Chown(theirs, 65534, 65534))
		_, err := Start(t.Context(), Options{Name: "theirs", Dir: theirs, Offline: true})
		assert.ErrorContains(t, err, "owned by uid 65534")
	}
}

// TestAPlantedKeyCacheIsNeverLoaded: with $HOME and $XDG_CACHE_HOME unset, the old key cache
// lived under /tmp and preloaded whatever library was at its path into every wallet-rpc. Now a
// library is preloaded only from a dir this user owns and no one else can change, and only if
// it is the one built there. A library planted with a matching SHA-256 in a dir another user
// owns, in a dir group or others can write, or below such a dir, is never loaded (its
// constructor would leave a mark), and the key cache is off and says why; with no cache dir at
// all it is off too, never built in /tmp.
func TestAPlantedKeyCacheIsNeverLoaded(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "planted-library-ran")
	planted := plantedLibrary(t, mark)
	useWalletRPCBinary(t)
	// The mark works: this library, once preloaded, leaves it.
	run := exec.Command("/bin/true")
	run.Env = append(os.Environ(), "LD_PRELOAD="+planted)
	require.NoError(t, run.Run())
	require.FileExists(t, mark)
	require.NoError(t, os.Remove(mark))

	cases := map[string]struct {
		plant func(cache string) // cache is $XDG_CACHE_HOME, already made
		why   string
		root  bool // needs root (chown to another uid)
	}{
		"cache dir owned by another user": {plant: func(cache string) {
			lib := plantAt(t, cache, planted)
			for _, p := range []string{filepath.Dir(lib), lib, sumPath(lib)} {
				require.NoError(t, os.Chown(p, 65534, 65534))
			}
		}, why: "owned by uid 65534", root: true},
		"world-writable cache dir": {plant: func(cache string) {
			require.NoError(t, os.Chmod(filepath.Dir(plantAt(t, cache, planted)), 0o777))
		}, why: "writable by group or others"},
		"group-writable cache dir": {plant: func(cache string) {
			require.NoError(t, os.Chmod(filepath.Dir(plantAt(t, cache, planted)), 0o770))
		}, why: "writable by group or others"},
		"world-writable dir above it (no sticky bit)": {plant: func(cache string) {
			plantAt(t, cache, planted)
			require.NoError(t, os.Chmod(cache, 0o777))
		}, why: "writable by group or others"},
		"cache dir another user could swap (theirs, above ours)": {plant: func(cache string) {
			plantAt(t, cache, planted)
			require.NoError(t, os.Chown(cache, 65534, 65534))
		}, why: "owned by uid 65534", root: true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if c.root && os.Geteuid() != 0 {
				t.Skip("needs root to give a dir to another uid")
			}
			cache := filepath.Join(t.TempDir(), "cache")
			require.NoError(t, os.Mkdir(cache, 0o700))
			t.Setenv("XDG_CACHE_HOME", cache)
			t.Setenv(EnvKeyCache, "")
			c.plant(cache)
			_, err := KeyCache()
			require.ErrorIs(t, err, ErrKeyCacheUnsafe)
			assert.ErrorContains(t, err, c.why)
			assertKeyCacheOffInAWalletRPC(t, mark, c.why)
		})
	}

	t.Run("no HOME nor XDG_CACHE_HOME: off, not in /tmp", func(t *testing.T) {
		t.Setenv("XDG_CACHE_HOME", "")
		t.Setenv("HOME", "")
		t.Setenv(EnvKeyCache, "")
		_, err := KeyCache()
		require.ErrorIs(t, err, ErrKeyCacheUnsafe)
		assert.ErrorContains(t, err, "never built in a shared temporary dir")
		assertKeyCacheOffInAWalletRPC(t, mark, "no safe place")
	})

	t.Run("$XMR_ESCROW_KEYCACHE in a world-writable dir", func(t *testing.T) {
		shared := t.TempDir()
		require.NoError(t, os.Chmod(shared, 0o777))
		lib := filepath.Join(shared, "keycache.so")
		copyTestFile(t, planted, lib, 0o644)
		t.Setenv(EnvKeyCache, lib)
		_, err := KeyCache()
		require.ErrorIs(t, err, ErrKeyCacheUnsafe)
		assert.ErrorContains(t, err, "writable by group or others")
		assertKeyCacheOffInAWalletRPC(t, mark, "writable by group or others")
	})
}

// TestAKeyCacheLibraryThatChangedIsNotLoaded: the library's SHA-256 is checked before every
// preload, so a library replaced after it was built (here by this same user, the only one
// who can) is not loaded; the next start builds it again.
func TestAKeyCacheLibraryThatChangedIsNotLoaded(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "planted-library-ran")
	planted := plantedLibrary(t, mark)
	useWalletRPCBinary(t)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(t.TempDir(), "cache"))
	t.Setenv(EnvKeyCache, "")
	lib, err := KeyCache()
	require.NoError(t, err)
	want, ok := recordedSum(lib)
	require.True(t, ok, "the SHA-256 is recorded next to the library")
	got, err := fileSum(lib)
	require.NoError(t, err)
	require.Equal(t, want, got)

	require.NoError(t, os.Remove(lib))
	copyTestFile(t, planted, lib, 0o400)
	if testing.Short() {
		_, err = KeyCache()
		require.ErrorIs(t, err, ErrKeyCacheUnsafe)
		assert.ErrorContains(t, err, "not the library that was built")
	} else {
		assertKeyCacheOffInAWalletRPC(t, mark, "not the library that was built")
	}

	again, err := KeyCache()
	require.NoError(t, err, "the next start builds it again")
	assert.Equal(t, lib, again)
	got, err = fileSum(lib)
	require.NoError(t, err)
	want, _ = recordedSum(lib)
	assert.Equal(t, want, got)
	assert.NoFileExists(t, mark)
}

// useWalletRPCBinary pins the wallet-rpc binary for a test that changes $HOME or
// $XDG_CACHE_HOME, where `make tools` put it.
func useWalletRPCBinary(t *testing.T) {
	t.Helper()
	if bin, err := Binary(); err == nil {
		t.Setenv(EnvBinary, bin)
	}
}

// assertKeyCacheOffInAWalletRPC starts a wallet-rpc that wants the key cache and checks that
// it runs without it, saying why, and that the planted library left no mark.
func assertKeyCacheOffInAWalletRPC(t *testing.T, mark, why string) {
	t.Helper()
	if testing.Short() {
		return
	}
	bin, err := Binary()
	require.NoError(t, err)
	require.True(t, takesKeyCache(bin), "the tests need a wallet-rpc that can take the key cache (%s)", howToGetMonero)
	w, err := Start(t.Context(), Options{Name: "planted", Dir: t.TempDir(), Offline: true})
	require.NoError(t, err, "wallet-rpc starts without the key cache")
	t.Cleanup(func() { _ = w.Stop() })
	rpcCall(t, w.URL, "create_wallet", `{"filename":"w","password":"p","language":"English"}`)
	assert.False(t, w.KeyCache)
	assert.Contains(t, w.KeyCacheOff, why)
	assert.NotEmpty(t, w.KeyCacheOff, "it says why the key cache is off")
	require.NoError(t, w.Stop())
	assert.NoFileExists(t, mark, "the planted library ran inside wallet-rpc")
}

// plantedLibrary builds a library whose constructor creates mark: what an attacker would
// put where the key cache is looked for.
func plantedLibrary(t *testing.T, mark string) string {
	t.Helper()
	cc, err := compiler()
	if err != nil && testing.Short() {
		t.Skip("no C compiler, which `make tools` installs:", err)
	}
	require.NoError(t, err)
	dir := t.TempDir()
	src := filepath.Join(dir, "planted.c")
	code := `#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void planted(void) { int fd = open(MARK, O_CREAT | O_WRONLY, 0600); if (fd >= 0) close(fd); }
`
	require.NoError(t, os.WriteFile(src, []byte(code), 0o600))
	lib := filepath.Join(dir, "planted.so")
	out, err := exec.Command(cc, "-shared", "-fPIC", "-DMARK=\""+mark+"\"", "-o", lib, src).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return lib
}

// plantAt puts lib where KeyCache looks for its library under the cache dir cache, with a
// matching SHA-256 file (an attacker can write that too), and returns its path.
func plantAt(t *testing.T, cache, lib string) string {
	t.Helper()
	dir := filepath.Join(cache, "xmr-escrow", "keycache")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	sum := sha256.Sum256(keyCacheSource)
	path := filepath.Join(dir, "keycache-"+hex.EncodeToString(sum[:6])+".so")
	copyTestFile(t, lib, path, 0o644)
	got, err := fileSum(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(sumPath(path), []byte(hex.EncodeToString(got[:])+"  x\n"), 0o644))
	return path
}

func copyTestFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, b, mode))
	require.NoError(t, os.Chmod(dst, mode))
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, want, fi.Mode().Perm(), "mode of %s", path)
}

func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
