// Command starter is the marketplace's command line for escrows:
//
//	starter setup ESCROW_ID [-purge-delay 10s] [-wait]
//	starter status ESCROW_ID
//	starter wait ESCROW_ID
//
// Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/xmr-escrow/xmr-escrow/starter"
	"github.com/xmr-escrow/xmr-escrow/temporalclient"
	"github.com/xmr-escrow/xmr-escrow/workflows"
)

const usage = `usage:
  starter [-address host:port] [-namespace ns] setup ESCROW_ID [-purge-delay 10s] [-wait]
  starter [-address host:port] [-namespace ns] status ESCROW_ID
  starter [-address host:port] [-namespace ns] wait ESCROW_ID`

func main() {
	err := run(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	global := flag.NewFlagSet("starter", flag.ContinueOnError)
	address := global.String("address", "", "Temporal frontend host:port (default $TEMPORAL_ADDRESS or "+temporalclient.DefaultHostPort+")")
	namespace := global.String("namespace", "", "Temporal namespace (default $TEMPORAL_NAMESPACE or default)")
	if err := global.Parse(args); err != nil {
		return err
	}
	if global.NArg() < 2 {
		return flag.ErrHelp
	}
	cmd, id, rest := global.Arg(0), global.Arg(1), global.Args()[2:]

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := temporalclient.Dial(ctx, temporalclient.Options{HostPort: *address, Namespace: *namespace})
	if err != nil {
		return err
	}
	defer c.Close()
	s := starter.New(c)

	switch cmd {
	case "setup":
		fs := flag.NewFlagSet("setup", flag.ContinueOnError)
		delay := fs.Duration("purge-delay", workflows.DefaultPurgeDelay, "durable wait between key-exchange rounds (0 for none)")
		wait := fs.Bool("wait", false, "wait for the setup to end and print the result")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		run, err := s.Start(ctx, workflows.EscrowInput{EscrowID: id, PurgeDelay: delay})
		if err != nil {
			return err
		}
		if err := printJSON(run); err != nil || !*wait {
			return err
		}
		return waitAndPrint(ctx, s, id)
	case "status":
		st, err := s.Status(ctx, id)
		if err != nil {
			return err
		}
		return printJSON(st)
	case "wait":
		return waitAndPrint(ctx, s, id)
	}
	return flag.ErrHelp
}

func waitAndPrint(ctx context.Context, s *starter.Client, id string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	res, err := s.Wait(ctx, id)
	if err != nil {
		return err
	}
	return printJSON(res)
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
