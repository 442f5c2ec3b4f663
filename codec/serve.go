package codec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// shutdownGrace bounds how long in-flight requests may finish after ctx is cancelled;
// codec requests are small, so a few seconds is plenty.
const shutdownGrace = 5 * time.Second

// Serve runs h on ln until ctx is cancelled, then shuts down gracefully. It returns nil
// after a clean shutdown, so callers (the codec-server binary, the local dev stack) can
// treat cancellation as success.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("codec: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	// ctx is already done: shutdown needs its own deadline.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("codec: shutdown on %s: %w", ln.Addr(), err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("codec: serve on %s: %w", ln.Addr(), err)
	}
	return nil
}
