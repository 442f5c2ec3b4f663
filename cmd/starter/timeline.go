package main

import (
	"context"
	"flag"
	"os"

	"go.temporal.io/sdk/client"

	"github.com/xmr-escrow/xmr-escrow/internal/timeline"
)

// timelineCommand prints one escrow's timeline, read from its workflow history (every run):
// steps per wallet-rpc instance with their queue wait, run time and attempts, timers,
// decisions and phase changes. It takes the Temporal client rather than the starter
// library because the timeline reads history, which the marketplace's client never needs.
func timelineCommand(ctx context.Context, c client.Client, escrowID string, args []string) error {
	fs := flag.NewFlagSet("timeline", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON (durations in milliseconds) instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return flag.ErrHelp
	}
	t, err := timeline.Fetch(ctx, c, escrowID)
	if err != nil {
		return err
	}
	if *asJSON {
		return t.WriteJSON(os.Stdout)
	}
	return t.WriteTable(os.Stdout)
}
