package walletrpc

import (
	"context"
	"fmt"
)

// Daemon method names (monerod's /json_rpc).
const (
	methodGenerateBlocks = "generateblocks" // methodGenerateBlocks mines on regtest.
	MethodGetInfo        = "get_info"       // MethodGetInfo reads the chain state.
)

// daemonStatusOK is monerod's "status" on success; anything else ("BUSY", "Failed")
// arrives as a result, not as a JSON-RPC error.
const daemonStatusOK = "OK"

// Daemon talks to monerod's JSON-RPC (the few calls tests and local stacks need); it
// shares Client's transport, so it has the same deadlines, auth and typed errors.
type Daemon struct {
	transport
}

// NewDaemon builds a Daemon for cfg.URL (e.g. http://127.0.0.1:18081); it does not
// contact the server.
func NewDaemon(cfg Config) *Daemon {
	d := &Daemon{}
	d.init(cfg)
	return d
}

// url returns the daemon's base URL.
func (d *Daemon) url() string { return d.baseURL }

// Call performs one JSON-RPC call on monerod; errors carry monerod's codes, which differ
// from wallet-rpc's (e.g. -4 is "Failed to parse wallet address" for generateblocks).
func (d *Daemon) Call(ctx context.Context, method string, params, result any) error {
	if err := d.call(ctx, method, params, result); err != nil {
		return fmt.Errorf("monerod %s: %w", method, err)
	}
	return nil
}

// GenerateBlocksRequest mines AmountOfBlocks blocks whose coinbase pays WalletAddress;
// only a --regtest daemon accepts it.
type GenerateBlocksRequest struct {
	AmountOfBlocks uint64 `json:"amount_of_blocks"`
	WalletAddress  string `json:"wallet_address"`
	PrevBlock      string `json:"prev_block,omitempty"`
	StartingNonce  uint32 `json:"starting_nonce,omitempty"`
}

// GenerateBlocksResult: Height is the height (index) of the last mined block, one less
// than get_info's Height (the block count).
type GenerateBlocksResult struct {
	Height    uint64   `json:"height"`
	Blocks    []string `json:"blocks"`
	Status    string   `json:"status"`
	Untrusted bool     `json:"untrusted"`
}

// GetInfoResult is the subset of get_info the tests and local stacks read. Height is the
// block count; a regtest daemon reports Nettype "fakechain".
type GetInfoResult struct {
	Height       uint64 `json:"height"`
	TargetHeight uint64 `json:"target_height"`
	Nettype      string `json:"nettype"`
	Synchronized bool   `json:"synchronized"`
	Offline      bool   `json:"offline"`
	BusySyncing  bool   `json:"busy_syncing"`
	TopBlockHash string `json:"top_block_hash"`
	Difficulty   uint64 `json:"difficulty"`
	TxCount      uint64 `json:"tx_count"`
	TxPoolSize   uint64 `json:"tx_pool_size"`
	Version      string `json:"version"`
	Status       string `json:"status"`
	Untrusted    bool   `json:"untrusted"`
	Restricted   bool   `json:"restricted"`
	StartTime    uint64 `json:"start_time"`
}

// GenerateBlocks mines on a regtest daemon (about 10 blocks a second on an idle 2-core
// machine); mine in batches of tens so a call stays well inside its deadline.
func (d *Daemon) GenerateBlocks(ctx context.Context, req GenerateBlocksRequest) (GenerateBlocksResult, error) {
	res, err := call[GenerateBlocksResult](ctx, d, methodGenerateBlocks, req)
	if err == nil {
		err = checkDaemonStatus(methodGenerateBlocks, res.Status)
	}
	return res, err
}

// GetInfo reads the daemon's chain state; it doubles as the readiness probe.
func (d *Daemon) GetInfo(ctx context.Context) (GetInfoResult, error) {
	res, err := call[GetInfoResult](ctx, d, MethodGetInfo, nil)
	if err == nil {
		err = checkDaemonStatus(MethodGetInfo, res.Status)
	}
	return res, err
}

// checkDaemonStatus turns a non-OK status into a (retryable) protocolError, since
// monerod reports "BUSY" in the result rather than as an error object.
func checkDaemonStatus(method, status string) error {
	if status == "" || status == daemonStatusOK {
		return nil
	}
	return fmt.Errorf("monerod %s: %w", method, &protocolError{Method: method, Reason: fmt.Sprintf("daemon status %q", snippet([]byte(status)))})
}

// HardForkInfo is monerod's view of a hard fork version: the version the chain runs
// (Version), and for the version asked about, the earliest height it activates at, if the
// daemon's schedule knows it.
type HardForkInfo struct {
	Version        uint8  `json:"version"`
	Enabled        bool   `json:"enabled"`
	EarliestHeight uint64 `json:"earliest_height"`
	Status         string `json:"status"`
}

// HardForkInfo asks about fork version (0: the next one the daemon knows of).
func (d *Daemon) HardForkInfo(ctx context.Context, version uint8) (HardForkInfo, error) {
	res, err := call[HardForkInfo](ctx, d, "hard_fork_info", map[string]uint8{"version": version})
	if err == nil {
		err = checkDaemonStatus("hard_fork_info", res.Status)
	}
	return res, err
}
