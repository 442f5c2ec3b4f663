// Command starter is the marketplace's command line for escrows:
//
//	starter setup ESCROW_ID -order O -buyer B -vendor V -arbiter A -amount PICONERO -vendor-address A -buyer-address A [-wait]
//	starter status ESCROW_ID          the workflow's own answer (query)
//	starter wait ESCROW_ID
//	starter get ESCROW_ID             the PostgreSQL projection
//	starter list [-status S] [-phase P] [-round N]
//	starter ship|confirm|refund|dispute|resolve|cancel ESCROW_ID -role R -actor USER [...]
//
// Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS,
// TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH,
// TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE (package
// temporalclient), XMR_ESCROW_KEYS, XMR_ESCROW_DATABASE_URL.
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

	"github.com/xmr-escrow/xmr-escrow/codec"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/internal/temporalclient"
	"github.com/xmr-escrow/xmr-escrow/keyring"
	"github.com/xmr-escrow/xmr-escrow/starter"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

const usage = `usage: starter [-address host:port] [-namespace ns] [-database URL] [TLS flags] COMMAND ...
  TLS flags: [-tls-ca FILE] [-tls-cert FILE -tls-key FILE] [-tls-server-name NAME] [-api-key-file FILE] [-profile NAME]
  setup ESCROW_ID -order O -buyer B -vendor V -arbiter A -amount PICONERO -vendor-address ADDR -buyer-address ADDR [-purge-delay 10s] [-wait]
  status ESCROW_ID
  wait ESCROW_ID                                             until the run ends: the final status plus the late-money watch (7 days)
  get ESCROW_ID
  timeline ESCROW_ID [-json]                                 steps per wallet-rpc, timers, decisions, phases (from history)
  list [-status S] [-phase P] [-round N] [-limit N]
  ship ESCROW_ID -actor VENDOR_ID [-payout-address A]       vendor marks shipped
  confirm ESCROW_ID -actor BUYER_ID                          buyer confirms receipt: release to the vendor
  refund ESCROW_ID -actor VENDOR_ID                          vendor agrees to refund the buyer
  dispute ESCROW_ID -role buyer|vendor -actor ID -reason "..."
  resolve ESCROW_ID -actor ARBITER_ID -winner buyer|vendor | -vendor-atomic PICONERO   a winner, or a split: that much to the vendor, the rest to the buyer
  split ESCROW_ID -role buyer|vendor -actor ID -vendor-atomic PICONERO   offer (or accept the other party's) split
  cancel ESCROW_ID -role R -actor ID                         before funding
  retry-payout ESCROW_ID -operator NAME [-max-fee PICONERO]  resume a payout parked as payout_blocked now
  restore-wallet ESCROW_ID -role R -to INSTANCE -operator NAME  write a lost wallet back from its backup onto a live instance
  resume-watch ESCROW_ID -operator NAME [-for 168h]          watch a finished escrow's address again (time-locked leftovers)
  fork-outlook -next-fork-height H (-height NOW | -daemon URL)  flag every running escrow that may hold money at the next hard fork
  list -status payout_blocked                                every parked payout (projection; see also the Web UI: EscrowBlocked)`

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
	var conn temporalclient.Options
	global.StringVar(&conn.HostPort, "address", "", "Temporal frontend host:port (default $TEMPORAL_ADDRESS, the profile, or "+temporalclient.DefaultHostPort+")")
	global.StringVar(&conn.Namespace, "namespace", "", "Temporal namespace (default $TEMPORAL_NAMESPACE, the profile, or "+temporalclient.DefaultNamespace+")")
	conn.RegisterFlags(global)
	dsn := global.String("database", store.DSNFromEnv(), "PostgreSQL URL of the projection, for get and list ($"+store.EnvDSN+")")
	if err := global.Parse(args); err != nil {
		return err
	}
	if global.NArg() < 1 {
		return flag.ErrHelp
	}
	cmd, rest := global.Arg(0), global.Args()[1:]
	keys, err := keyring.FromEnv()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	conn.Keys = keys
	c, err := temporalclient.Dial(ctx, conn)
	if err != nil {
		return err
	}
	defer c.Close()
	var st *store.Store
	if cmd == "get" || cmd == "list" {
		if st, err = store.Open(ctx, *dsn, keys); err != nil {
			return err
		}
		defer func() { _ = st.Close() }()
	}
	// The same converter Dial gave the client, so a repeated setup can read the existing
	// escrow's (encrypted) terms and refuse different ones.
	s := starter.New(c, st, starter.WithDataConverter(codec.DataConverter(keys)))
	if cmd == "list" {
		return list(ctx, s, rest)
	}
	if cmd == "fork-outlook" {
		return forkOutlook(ctx, s, rest)
	}
	if len(rest) < 1 {
		return flag.ErrHelp
	}
	id, rest := rest[0], rest[1:]
	switch cmd {
	case "setup":
		return setup(ctx, s, id, rest)
	case "status":
		return printJSON(s.Status(ctx, id))
	case "wait":
		return waitAndPrint(ctx, s, id)
	case "get":
		return printJSON(s.Get(ctx, id))
	case "timeline":
		return timelineCommand(ctx, c, id, rest)
	case "retry-payout":
		return retryPayout(ctx, s, id, rest)
	case "restore-wallet":
		return restoreWallet(ctx, s, id, rest)
	case "resume-watch":
		return resumeWatch(ctx, s, id, rest)
	}
	if name, ok := decisionCommands[cmd]; ok {
		return decide(ctx, s, id, name, rest)
	}
	return flag.ErrHelp
}

// decisionCommands maps a CLI verb to its update, and the role that usually takes it.
var decisionCommands = map[string]escrow.UpdateName{
	"ship": escrow.UpdateMarkShipped, "confirm": escrow.UpdateConfirmReceipt, "refund": escrow.UpdateAgreeRefund,
	"dispute": escrow.UpdateOpenDispute, "resolve": escrow.UpdateResolveDispute, "cancel": escrow.UpdateCancel,
	"split": escrow.UpdateAgreeSplit,
}

var defaultRole = map[escrow.UpdateName]escrow.Role{
	escrow.UpdateMarkShipped: escrow.Vendor, escrow.UpdateConfirmReceipt: escrow.Buyer, escrow.UpdateAgreeRefund: escrow.Vendor,
	escrow.UpdateResolveDispute: escrow.Arbiter,
}

func decide(ctx context.Context, s *starter.Client, id string, name escrow.UpdateName, args []string) error {
	fs := flag.NewFlagSet(string(name), flag.ContinueOnError)
	role := fs.String("role", string(defaultRole[name]), "who decides: buyer, vendor or arbiter")
	in := escrow.DecisionInput{}
	fs.StringVar(&in.ActorID, "actor", "", "the marketplace user ID of whoever decides")
	fs.StringVar(&in.Reason, "reason", "", "dispute reason (10-1000 characters)")
	winner := fs.String("winner", "", "resolve: buyer (refund) or vendor (release)")
	fs.StringVar(&in.PayoutAddress, "payout-address", "", "ship: a new payout address for the vendor")
	fs.Uint64Var(&in.VendorAtomic, "vendor-atomic", 0, "split, resolve: the vendor's part in piconero (commission included); the rest goes to the buyer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in.Role, in.Winner = escrow.Role(*role), escrow.Role(*winner)
	return printJSON(s.Decide(ctx, id, name, in))
}

func setup(ctx context.Context, s *starter.Client, id string, args []string) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	in := escrow.EscrowInput{EscrowID: id}
	fs.StringVar(&in.OrderID, "order", "", "the marketplace's order ID")
	fs.StringVar(&in.BuyerID, "buyer", "", "buyer's user ID")
	fs.StringVar(&in.VendorID, "vendor", "", "vendor's user ID")
	fs.StringVar(&in.ArbiterID, "arbiter", "", "arbiter's user ID")
	fs.Int64Var(&in.AmountAtomic, "amount", 0, "price in piconero (1 XMR = 1000000000000)")
	fs.StringVar(&in.VendorPayoutAddress, "vendor-address", "", "where a release pays the vendor")
	fs.StringVar(&in.BuyerRefundAddress, "buyer-address", "", "where a refund pays the buyer")
	fs.StringVar(&in.Network, "network", "", "network of those addresses: mainnet (default, also regtest), testnet, stagenet")
	delay := fs.Duration("purge-delay", escrow.DefaultPurgeDelay, "durable wait between key-exchange rounds (0 for none)")
	wait := fs.Bool("wait", false, "wait for the multisig setup to end and print the escrow's state")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in.PurgeDelay = delay
	run, err := s.Start(ctx, in)
	if err := printJSON(run, err); err != nil || !*wait {
		return err
	}
	return printJSON(s.WaitReady(ctx, id))
}

func list(ctx context.Context, s *starter.Client, args []string) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	status := fs.String("status", "", "only escrows with this status ("+fmt.Sprint(escrow.Statuses)+")")
	phase := fs.String("phase", "", "only escrows in this phase ("+fmt.Sprint(escrow.Phases)+")")
	round := fs.Int("round", 0, "with -phase: ask Temporal's visibility for escrows in this round instead of the database")
	limit := fs.Int("limit", 100, "at most this many")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *round > 0 {
		return printJSON(s.ListByPhase(ctx, escrow.Phase(*phase), *round))
	}
	return printJSON(s.List(ctx, store.Filter{Status: escrow.Status(*status), Phase: escrow.Phase(*phase), Limit: *limit}))
}

func waitAndPrint(ctx context.Context, s *starter.Client, id string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	return printJSON(s.Wait(ctx, id))
}

func printJSON[T any](v T, err error) error {
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// retryPayout resumes a parked payout now, optionally raising its fee cap.
func retryPayout(ctx context.Context, s *starter.Client, id string, args []string) error {
	fs := flag.NewFlagSet("retry-payout", flag.ContinueOnError)
	in := escrow.RetryPayoutInput{}
	fs.StringVar(&in.Operator, "operator", "", "who resumes it, for the audit trail (required)")
	fs.Uint64Var(&in.MaxFeeAtomic, "max-fee", 0, "raise this escrow's fee cap to this many piconero (0: keep it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return printJSON(s.RetryPayout(ctx, id, in))
}

// forkOutlook tells every running escrow the next hard fork's height.
func forkOutlook(ctx context.Context, s *starter.Client, args []string) error {
	fs := flag.NewFlagSet("fork-outlook", flag.ContinueOnError)
	next := fs.Uint64("next-fork-height", 0, "the next hard fork's activation height (required)")
	height := fs.Uint64("height", 0, "the chain's height now (or give -daemon)")
	daemon := fs.String("daemon", "", "monerod's RPC URL, to read the chain's height")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := escrow.ForkOutlook{NextForkHeight: *next, Height: *height, At: time.Now().UTC()}
	if *daemon != "" {
		info, err := walletrpc.NewDaemon(walletrpc.Config{URL: *daemon}).GetInfo(ctx)
		if err != nil {
			return err
		}
		o.Height = info.Height
	}
	return printJSON(s.ForkOutlook(ctx, o))
}

// resumeWatch starts a finished escrow's late-money watch again.
func resumeWatch(ctx context.Context, s *starter.Client, id string, args []string) error {
	fs := flag.NewFlagSet("resume-watch", flag.ContinueOnError)
	operator := fs.String("operator", "", "who resumes it, for the audit trail (required)")
	grace := fs.Duration("for", 7*24*time.Hour, "how long to watch")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return printJSON(s.ResumeWatch(ctx, id, *operator, *grace))
}

// restoreWallet writes a role's wallet back from its sealed backup onto a live instance
// and moves the role there, after the disk that held it was lost.
func restoreWallet(ctx context.Context, s *starter.Client, id string, args []string) error {
	fs := flag.NewFlagSet("restore-wallet", flag.ContinueOnError)
	in := escrow.RestoreWalletInput{}
	fs.StringVar(&in.Operator, "operator", "", "who restores it, for the audit trail (required)")
	role := fs.String("role", "", "the wallet to restore: buyer, vendor or arbiter (required)")
	fs.StringVar(&in.Instance, "to", "", "the live wallet-rpc instance that receives it, e.g. w-3f2a9c01b7de (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in.Role = escrow.Role(*role)
	return printJSON(s.RestoreWallet(ctx, id, in))
}
