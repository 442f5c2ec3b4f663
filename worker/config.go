package worker

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/internal/metrics"
	"github.com/xmr-escrow/xmr-escrow/internal/rpcinstance"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// Instance is one monero-wallet-rpc this worker serves (rpcinstance.Instance).
type Instance = rpcinstance.Instance

// EnvNextForkHeight holds the next hard fork's height for cmd/worker (Config.NextForkHeight).
const EnvNextForkHeight = "XMR_ESCROW_NEXT_FORK_HEIGHT"

// Config is everything a worker process needs besides the Temporal client.
type Config struct {
	Instances []Instance `json:"instances"`
	// WalletSecret derives every wallet password; at least 32 bytes, kept out of Temporal.
	WalletSecret []byte `json:"-"`
	// WalletsOnly runs only the wallet-rpc task queues, not the escrow workflows: what a
	// participant runs next to their own wallet-rpc.
	WalletsOnly bool `json:"wallets_only,omitempty"`
	// RPCTimeout bounds one wallet-rpc call; default 2 minutes.
	RPCTimeout time.Duration `json:"-"`
	// Store receives the marketplace's projection; required unless WalletsOnly.
	Store *store.Store `json:"-"`
	// Metrics, if set, records wallet-rpc calls and step waits per instance.
	Metrics *metrics.Metrics `json:"-"`
	// Host names this worker's failure domain (the disk its wallet dirs are on); a setup
	// places its three roles on three hosts when there are three. Default: DefaultHost().
	Host string `json:"host,omitempty"`
	// Healthy, if set, says which instances are up; new escrows go only to those.
	Healthy func(instance string) bool `json:"-"`
	// Ownership, if set, holds wallet dirs the caller locked already (cmd/worker locks the
	// spawned ones before their wallet-rpcs start); New locks the rest into it and the
	// caller releases it. If nil, New makes one and Stop releases it.
	Ownership *rpcinstance.Ownership `json:"-"`
	// Logger, if set, reports which wallet dirs are taken and released.
	Logger *zap.Logger `json:"-"`
	// Grow, if set, adds n wallet-rpc instances (the supervisor's Grow) when setups wait for
	// a lease and none fits in the free instances; the worker serves what it returns. It
	// needs a Store: only the shared lease table places setups on new instances.
	Grow func(ctx context.Context, n int) ([]Instance, error) `json:"-"`
	// DaemonURL, if set, makes this worker a replica of the block watcher (monerod's RPC,
	// e.g. http://127.0.0.1:18081): one replica per namespace scans each block for the
	// escrows awaiting payment (it needs a Store). Payouts also ask it for the fee per byte,
	// which sets what is dust; without it they use activities.FallbackDustAtomic.
	DaemonURL string `json:"daemon_url,omitempty"`
	// BlockWatcherPoll is how often the block watcher's leader asks monerod for new blocks
	// and its pool; default 2 s, against mainnet's 2-minute blocks. A benchmark on a regtest
	// chain sets it to its script's poll, so that both see a block equally soon.
	BlockWatcherPoll time.Duration `json:"block_watcher_poll,omitempty"`
	// NextForkHeight, if set, is the next hard fork's height (XMR_ESCROW_NEXT_FORK_HEIGHT): a
	// new escrow whose longest term would run past it is refused. Unset, the daemon's schedule
	// is asked (DaemonURL), which a 0.18 monerod does not have past v16.
	NextForkHeight uint64 `json:"next_fork_height,omitempty"`
	// Namespace names the block watcher's leader lock; default "default".
	Namespace string `json:"namespace,omitempty"`
	// PoolStats, if set, reads this host's pool against its budget for the metrics.
	PoolStats func() PoolStats `json:"-"`
}

// PoolStats is one host's wallet-rpc pool against its budget (rpcinstance.PoolStats).
type PoolStats = rpcinstance.PoolStats

// Validate checks the config without touching the network.
func (c Config) Validate() error {
	if len(c.Instances) == 0 {
		return errors.New("worker config: no wallet-rpc instances (use --wallet-rpc, $XMR_ESCROW_WALLET_RPCS or --config)")
	}
	seen := map[string]bool{}
	// One wallet-rpc or wallet dir under two names would get two task queues, and so two
	// steps at once on one wallet-rpc: the crossed wallets the ownership rule prevents.
	byURL, byDir := map[string]string{}, map[string]string{}
	for _, in := range c.Instances {
		if err := validateInstance(in); err != nil {
			return err
		}
		if seen[in.Name] {
			return fmt.Errorf("worker config: instance %q named twice", in.Name)
		}
		seen[in.Name] = true
		u := endpoint(in.URL)
		if other, ok := byURL[u]; ok {
			return fmt.Errorf("worker config: instances %s and %s are one wallet-rpc (%s); %s", other, in.Name, u, rpcinstance.OwnerRule)
		}
		byURL[u] = in.Name
		d := rpcinstance.CanonicalDir(in.WalletDir)
		if other, ok := byDir[d]; ok {
			return fmt.Errorf("worker config: instances %s and %s share wallet dir %s; %s", other, in.Name, d, rpcinstance.OwnerRule)
		}
		byDir[d] = in.Name
	}
	if c.Store == nil && !c.WalletsOnly {
		return fmt.Errorf("worker config: no database for the escrow projection (set %s)", store.EnvDSN)
	}
	if len(c.WalletSecret) < activities.MinSecretLength {
		return fmt.Errorf("worker config: wallet secret has %d bytes, need %d (set %s to 64 hex characters, e.g. from `openssl rand -hex 32`)", len(c.WalletSecret), activities.MinSecretLength, EnvWalletSecret)
	}
	return nil
}

func validateInstance(in Instance) error {
	if !rpcinstance.ValidName(in.Name) {
		return fmt.Errorf("worker config: instance name %q must be non-empty, without spaces , ; = /", in.Name)
	}
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("worker config: instance %s: url %q is not an http(s) URL", in.Name, in.URL)
	}
	if in.WalletDir == "" {
		return fmt.Errorf("worker config: instance %s: wallet_dir is empty", in.Name)
	}
	return nil
}

// endpoint names the process behind a wallet-rpc URL: host and port, with the scheme's
// default port filled in and localhost spelled as 127.0.0.1. The path and scheme do not
// matter, since one port is one process.
func endpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" {
		host = "127.0.0.1"
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return net.JoinHostPort(host, port)
}

// Environment variables the worker reads.
const (
	// EnvWalletRPCs lists instances as specs separated by ";" (see ParseInstance).
	EnvWalletRPCs = "XMR_ESCROW_WALLET_RPCS"
	// EnvWalletSecret is the wallet secret as 64 hex characters.
	EnvWalletSecret = "XMR_ESCROW_WALLET_SECRET"
	// EnvWalletSecretFile names a file holding the wallet secret as hex.
	EnvWalletSecretFile = "XMR_ESCROW_WALLET_SECRET_FILE"
)

// ParseInstance reads "name=rpc-1,url=http://127.0.0.1:18083,dir=/var/lib/wallets/rpc-1"
// with optional "user=NAME" and "password-file=PATH" (a file, so the password is not on
// the command line).
func ParseInstance(spec string) (Instance, error) {
	var in Instance
	for _, part := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return in, fmt.Errorf("wallet-rpc spec %q: %q is not key=value", spec, part)
		}
		switch k {
		case "name":
			in.Name = v
		case "url":
			in.URL = v
		case "dir":
			in.WalletDir = v
		case "user":
			in.Username = v
		case "password-file":
			b, err := os.ReadFile(v)
			if err != nil {
				return in, fmt.Errorf("wallet-rpc spec %q: read password file: %w", spec, err)
			}
			in.Password = strings.TrimSpace(string(b))
		default:
			return in, fmt.Errorf("wallet-rpc spec %q: unknown key %q (want name, url, dir, user, password-file)", spec, k)
		}
	}
	return in, validateInstance(in)
}

// ParseInstances reads specs separated by ";".
func ParseInstances(specs string) ([]Instance, error) {
	var out []Instance
	for _, s := range strings.Split(specs, ";") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		in, err := ParseInstance(s)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// LoadFile reads a JSON config file: {"instances": [{"name", "url", "wallet_dir", ...}]}.
func LoadFile(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read worker config: %w", err)
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("parse worker config %s: %w", path, err)
	}
	return c, nil
}

// SecretFromEnv reads the wallet secret from $XMR_ESCROW_WALLET_SECRET or the file named by
// $XMR_ESCROW_WALLET_SECRET_FILE.
func SecretFromEnv() ([]byte, error) {
	s := os.Getenv(EnvWalletSecret)
	if s == "" {
		if f := os.Getenv(EnvWalletSecretFile); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", EnvWalletSecretFile, err)
			}
			s = string(b)
		}
	}
	if s == "" {
		return nil, fmt.Errorf("no wallet secret: set %s to 64 hex characters (`openssl rand -hex 32`) or %s to a file holding them", EnvWalletSecret, EnvWalletSecretFile)
	}
	return DecodeSecret(s)
}

// DecodeSecret parses a hex wallet secret.
func DecodeSecret(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("wallet secret is not hex: %w", err)
	}
	if len(b) < activities.MinSecretLength {
		return nil, fmt.Errorf("wallet secret has %d bytes, need %d", len(b), activities.MinSecretLength)
	}
	return b, nil
}
