/*
 * The wallet-rpc key cache, preloaded (LD_PRELOAD) into monero-wallet-rpc by walletproc.
 *
 * Every create_wallet and open_wallet of wallet-rpc 0.18 builds a TLS client context for the
 * multisig messaging system's transport (message_transporter::set_options), and with it a
 * fresh self-signed RSA-4096 key: 1-2 CPU-seconds of prime search in OpenSSL, most of a
 * setup's cost (docs/wallet-rpc-certificates.md). No option, file or call order avoids it,
 * and the context is never used to connect: the product does not use that transport.
 *
 * This file replaces RSA_generate_key_ex: the first call in a process takes the key walletproc
 * handed it, or else generates one as OpenSSL does; later calls with the same size and
 * exponent receive a copy of that key. A call with a progress callback, or any failure, goes
 * to OpenSSL's own function.
 *
 * Handing over: walletproc generates one key per supervising process and passes it to every
 * wallet-rpc it starts as an inherited in-memory file (memfd, never on disk), whose descriptor
 * is $XMR_ESCROW_KEYCACHE_FD; it holds the key as PKCS#1 DER. The constructor below reads it
 * at load time and closes the descriptor, so a new instance (a restart, or a pool that grows)
 * costs no prime search at all. A key of another size or exponent than asked is not used.
 *
 * If $XMR_ESCROW_KEYCACHE_LOG names a file, each call appends "loaded", "generated" or
 * "reused" to it, so a test can count the keys a process made.
 *
 * Built by walletproc (../keycache.go) with the system's C compiler, without OpenSSL's headers:
 * libcrypto's functions are declared below and resolved from the process it is loaded into.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct rsa_st RSA;
typedef struct bignum_st BIGNUM;
typedef struct bn_gencb_st BN_GENCB;

unsigned long BN_get_word(const BIGNUM *);
BIGNUM *BN_dup(const BIGNUM *);
void BN_free(BIGNUM *);
RSA *RSAPrivateKey_dup(const RSA *);
RSA *d2i_RSAPrivateKey(RSA **, const unsigned char **, long);
int RSA_bits(const RSA *);
void RSA_free(RSA *);
void RSA_get0_key(const RSA *, const BIGNUM **, const BIGNUM **, const BIGNUM **);
void RSA_get0_factors(const RSA *, const BIGNUM **, const BIGNUM **);
void RSA_get0_crt_params(const RSA *, const BIGNUM **, const BIGNUM **, const BIGNUM **);
int RSA_set0_key(RSA *, BIGNUM *, BIGNUM *, BIGNUM *);
int RSA_set0_factors(RSA *, BIGNUM *, BIGNUM *);
int RSA_set0_crt_params(RSA *, BIGNUM *, BIGNUM *, BIGNUM *);

typedef int (*keygen_fn)(RSA *, int, BIGNUM *, BN_GENCB *);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static RSA *cached;
static int cached_bits;
static unsigned long cached_e;

/* The handed-over key's DER, read at load time and parsed at the first call (libcrypto may
 * not be initialised while constructors run). */
static unsigned char *handed;
static long handed_len;

__attribute__((constructor)) static void read_handed_key(void) {
	const char *v = getenv("XMR_ESCROW_KEYCACHE_FD");
	if (v == NULL || *v == '\0')
		return;
	int fd = atoi(v);
	if (fd < 3)
		return;
	unsigned char *buf = malloc(16384);
	if (buf != NULL) {
		ssize_t n = pread(fd, buf, 16384, 0);
		if (n > 0 && n < 16384) {
			handed = buf;
			handed_len = (long)n;
		} else {
			free(buf);
		}
	}
	close(fd);
}

/* take_handed caches the handed-over key if it has the asked size and exponent (under mu). */
static int take_handed(int bits, unsigned long ew) {
	if (handed == NULL)
		return 0;
	const unsigned char *p = handed;
	RSA *k = d2i_RSAPrivateKey(NULL, &p, handed_len);
	memset(handed, 0, (size_t)handed_len);
	free(handed);
	handed = NULL;
	if (k == NULL)
		return 0;
	const BIGNUM *n, *e, *d;
	RSA_get0_key(k, &n, &e, &d);
	if (RSA_bits(k) != bits || e == NULL || BN_get_word(e) != ew) {
		RSA_free(k);
		return 0;
	}
	cached = k;
	cached_bits = bits;
	cached_e = ew;
	return 1;
}

static void note(const char *what) {
	const char *path = getenv("XMR_ESCROW_KEYCACHE_LOG");
	if (path == NULL || *path == '\0')
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	ssize_t n = write(fd, what, strlen(what));
	(void)n;
	close(fd);
}

/* copy_key gives rsa its own copy of the cached key; 1 on success. */
static int copy_key(RSA *rsa) {
	const BIGNUM *n, *e, *d, *p, *q, *dp, *dq, *qi;
	RSA_get0_key(cached, &n, &e, &d);
	RSA_get0_factors(cached, &p, &q);
	RSA_get0_crt_params(cached, &dp, &dq, &qi);
	BIGNUM *b[8] = {BN_dup(n), BN_dup(e), BN_dup(d), BN_dup(p), BN_dup(q), BN_dup(dp), BN_dup(dq), BN_dup(qi)};
	for (int i = 0; i < 8; i++) {
		if (b[i] == NULL) { /* out of memory: the caller falls back to OpenSSL */
			for (int j = 0; j < 8; j++)
				if (b[j] != NULL)
					BN_free(b[j]);
			return 0;
		}
	}
	return RSA_set0_key(rsa, b[0], b[1], b[2]) && RSA_set0_factors(rsa, b[3], b[4]) &&
	       RSA_set0_crt_params(rsa, b[5], b[6], b[7]);
}

int RSA_generate_key_ex(RSA *rsa, int bits, BIGNUM *e, BN_GENCB *cb) {
	keygen_fn real = (keygen_fn)dlsym(RTLD_NEXT, "RSA_generate_key_ex");
	if (real == NULL)
		return 0;
	if (cb != NULL || e == NULL)
		return real(rsa, bits, e, cb);
	unsigned long ew = BN_get_word(e);
	pthread_mutex_lock(&mu);
	int loaded = cached == NULL && take_handed(bits, ew);
	int reused = cached != NULL && cached_bits == bits && cached_e == ew && copy_key(rsa);
	pthread_mutex_unlock(&mu);
	if (reused) {
		note(loaded ? "loaded\n" : "reused\n");
		return 1;
	}
	int ok = real(rsa, bits, e, cb);
	if (ok == 1) {
		note("generated\n");
		RSA *dup = RSAPrivateKey_dup(rsa);
		pthread_mutex_lock(&mu);
		if (cached == NULL && dup != NULL) {
			cached = dup;
			cached_bits = bits;
			cached_e = ew;
			dup = NULL;
		}
		pthread_mutex_unlock(&mu);
		if (dup != NULL)
			RSA_free(dup);
	}
	return ok;
}
