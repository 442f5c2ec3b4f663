// Command codec-server lets the Temporal Web UI and CLI show encrypted payloads: it decrypts
// (and encrypts) them over HTTP with the same keys as the workers.
//
//	codec-server -listen 127.0.0.1:8089
//	temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8089
//	temporal workflow show -w escrow-ID --codec-endpoint http://127.0.0.1:8089 \
//	    --codec-auth "Bearer $XMR_ESCROW_CODEC_TOKEN"
//
// Environment: XMR_ESCROW_KEYS (required), XMR_ESCROW_CODEC_TOKEN (optional bearer token),
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

// EnvToken holds the bearer token clients must present; unset means no token is required.
const EnvToken = "XMR_ESCROW_CODEC_TOKEN"

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
	if !isLoopback(ln.Addr()) && token == "" {
		// Anyone who can reach this port can decrypt every payload of the namespace.
		z.Warn("codec server reachable beyond loopback without a token; set "+EnvToken,
			zap.Stringer("addr", ln.Addr()))
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
	if err := codec.Serve(ctx, ln, h); err != nil {
		return err
	}
	z.Info("codec server stopped")
	return nil
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
