// Command codec-server lets the Temporal Web UI and CLI show encrypted payloads: it decrypts
// (and encrypts) them over HTTP with the same keys as the workers.
//
//	codec-server -listen 127.0.0.1:8089
//	temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8089
//	temporal workflow show -w escrow-ID --codec-endpoint http://127.0.0.1:8089 \
//	    --codec-auth "Bearer $XMR_ESCROW_CODEC_TOKEN"
//
// With a token, a browser signs in once at http://127.0.0.1:8089/login (paste the token);
// the session cookie it gets lets the Web UI decode when the UI sends credentials
// (TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true).
//
// Environment: XMR_ESCROW_KEYS (required), XMR_ESCROW_CODEC_TOKEN (bearer token and /login
// secret; required unless listening on loopback, at least 32 characters),
// TEMPORAL_NAMESPACE, XMR_ESCROW_LOG_LEVEL, XMR_ESCROW_LOG_FORMAT.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/codec"
	"github.com/xmr-escrow/xmr-escrow/internal/logging"
	"github.com/xmr-escrow/xmr-escrow/keyring"
)

// EnvToken holds the token clients must present; unset is allowed on loopback only.
const EnvToken = "XMR_ESCROW_CODEC_TOKEN"

// MinTokenLen is the shortest token accepted: /login is rate limited only per replica, so
// the token itself must be beyond guessing (`openssl rand -hex 32` gives 64 characters).
const MinTokenLen = 32

// defaultOrigins are the dev server's Web UI as reached by either loopback name: browsers
// send whichever host the operator typed.
var defaultOrigins = []string{"http://127.0.0.1:8233", "http://localhost:8233"}

type origins []string

// String joins the origins, for flag.Value.
func (o *origins) String() string { return strings.Join(*o, ",") }

// Set adds one origin, for flag.Value.
func (o *origins) Set(v string) error { *o = append(*o, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "codec-server:", err)
		os.Exit(1)
	}
}

func run() error {
	var allowed origins
	var (
		listen    = flag.String("listen", "127.0.0.1:8089", "host:port to listen on (keep it loopback unless a token and TLS front it)")
		namespace = flag.String("namespace", "", "the only Temporal namespace served (default $TEMPORAL_NAMESPACE or default)")
	)
	flag.Var(&allowed, "origin", "browser origin allowed to call, scheme://host:port (repeatable; default "+
		strings.Join(defaultOrigins, " and ")+")")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if *namespace == "" {
		*namespace = os.Getenv("TEMPORAL_NAMESPACE")
	}
	if *namespace == "" {
		*namespace = "default"
	}
	if len(allowed) == 0 {
		allowed = defaultOrigins
	}

	z, err := logging.NewFromEnv()
	if err != nil {
		return err
	}
	defer z.Sync() //nolint:errcheck // stderr sync fails on terminals

	k, err := keyring.FromEnv()
	if err != nil {
		return err
	}
	token := os.Getenv(EnvToken)
	if err := checkToken(token, nil); err != nil {
		return err
	}
	h, err := codec.NewHandler(k, codec.ServerOptions{
		Namespace:      *namespace,
		AllowedOrigins: allowed,
		Token:          token,
		Logger:         z.Named("codec"),
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	// Decided on the address actually bound, so a host name that resolves beyond loopback
	// is caught too.
	if err := checkToken(token, ln.Addr()); err != nil {
		_ = ln.Close()
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	z.Info("codec server listening",
		zap.String("endpoint", "http://"+ln.Addr().String()),
		zap.String("namespace", *namespace),
		zap.Strings("origins", allowed),
		zap.String("current_key", k.CurrentID()),
		zap.Strings("keys", k.IDs()),
		zap.Bool("token_required", token != ""),
		zap.String("hint", "temporal server start-dev --ui-codec-endpoint http://"+ln.Addr().String()),
	)
	if token != "" {
		// The address as a browser on this host reaches it; behind a port mapping, that port.
		z.Info("each browser signs in once at /login with the token",
			zap.String("login", "http://127.0.0.1:"+portOf(ln.Addr())+"/login"))
	}
	if err := codec.Serve(ctx, ln, h); err != nil {
		return err
	}
	z.Info("codec server stopped")
	return nil
}

// checkToken refuses a token too short or still the env.example placeholder and, once the
// listener is bound (addr non-nil), a missing token beyond loopback: anyone who reaches the
// port could then decrypt every payload of the namespace.
func checkToken(token string, addr net.Addr) error {
	const howTo = "make one with `openssl rand -hex 32` and set it in " + EnvToken
	switch {
	case token == "" && addr != nil && !isLoopback(addr):
		return fmt.Errorf("listening on %s, beyond loopback, needs a token: %s", addr, howTo)
	case token == "":
		return nil
	case strings.Contains(token, "REPLACE_ME"):
		return fmt.Errorf("%s is still the placeholder from deploy/env.example: %s", EnvToken, howTo)
	case len(token) < MinTokenLen:
		return fmt.Errorf("%s has %d characters, fewer than %d: %s", EnvToken, len(token), MinTokenLen, howTo)
	}
	for _, c := range token {
		// It travels in an Authorization header and a form field; a stray space or newline
		// from the env file would make it impossible to present.
		if c <= ' ' || c > '~' {
			return fmt.Errorf("%s contains spaces or characters other than printable ASCII: %s", EnvToken, howTo)
		}
	}
	return nil
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

func portOf(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return fmt.Sprint(tcp.Port)
	}
	return "8089"
}
