package watcher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// ErrDaemon wraps every failed or malformed answer from monerod.
var ErrDaemon = errors.New("watcher: monerod")

// maxTxsPerCall bounds one /get_transactions request; monerod answers hundreds at once,
// but a block of a congested day would make one answer tens of megabytes.
const maxTxsPerCall = 100

// maxBody bounds what one answer may hold, so a hostile or broken daemon cannot exhaust memory.
const maxBody = 64 << 20

// Daemon reads blocks and the transaction pool from monerod's RPC. The watcher trusts the
// daemon for what the chain holds (as the wallets do with --trusted-daemon), never for what
// an output is worth: that comes from the scan, and the wallet decides.
type Daemon struct {
	url  string
	http *http.Client
}

// NewDaemon returns a client of monerod at url (e.g. http://127.0.0.1:18081).
func NewDaemon(url string, timeout time.Duration) *Daemon {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &Daemon{url: url, http: &http.Client{Timeout: timeout}}
}

// Block is one block as the watcher needs it.
type Block struct {
	Height   uint64
	Hash     string
	PrevHash string
	// MinerTxHash and JSON carry the miner transaction (scan.ParseMinerTx reads it).
	MinerTxHash string
	JSON        []byte
	TxHashes    []string
}

// RawTx is one transaction's monerod JSON.
type RawTx struct {
	Hash   string
	AsJSON []byte
	InPool bool
	Height uint64
}

// Count returns the number of blocks in the daemon's chain: the top block is Count-1.
func (d *Daemon) Count(ctx context.Context) (uint64, error) {
	var res struct {
		Count  uint64 `json:"count"`
		Status string `json:"status"`
	}
	if err := d.jsonRPC(ctx, "get_block_count", nil, &res); err != nil {
		return 0, err
	}
	return res.Count, checkStatus("get_block_count", res.Status)
}

// Block reads the block at height.
func (d *Daemon) Block(ctx context.Context, height uint64) (Block, error) {
	var res struct {
		BlockHeader struct {
			Hash     string `json:"hash"`
			PrevHash string `json:"prev_hash"`
			Height   uint64 `json:"height"`
		} `json:"block_header"`
		JSON        string   `json:"json"`
		MinerTxHash string   `json:"miner_tx_hash"`
		TxHashes    []string `json:"tx_hashes"`
		Status      string   `json:"status"`
	}
	if err := d.jsonRPC(ctx, "get_block", map[string]uint64{"height": height}, &res); err != nil {
		return Block{}, err
	}
	if err := checkStatus("get_block", res.Status); err != nil {
		return Block{}, err
	}
	if res.BlockHeader.Height != height || len(res.BlockHeader.Hash) != 64 {
		return Block{}, fmt.Errorf("%w: get_block %d answered block %d %q", ErrDaemon, height, res.BlockHeader.Height, res.BlockHeader.Hash)
	}
	return Block{Height: height, Hash: res.BlockHeader.Hash, PrevHash: res.BlockHeader.PrevHash,
		MinerTxHash: res.MinerTxHash, JSON: []byte(res.JSON), TxHashes: res.TxHashes}, nil
}

// Transactions reads the given transactions, in batches, as JSON. A hash the daemon does not
// know is an error: a block's transactions must all be scanned.
func (d *Daemon) Transactions(ctx context.Context, hashes []string) ([]RawTx, error) {
	out := make([]RawTx, 0, len(hashes))
	for start := 0; start < len(hashes); start += maxTxsPerCall {
		batch := hashes[start:min(start+maxTxsPerCall, len(hashes))]
		var res struct {
			Txs []struct {
				TxHash      string `json:"tx_hash"`
				AsJSON      string `json:"as_json"`
				InPool      bool   `json:"in_pool"`
				BlockHeight uint64 `json:"block_height"`
			} `json:"txs"`
			Missed []string `json:"missed_tx"`
			Status string   `json:"status"`
		}
		req := map[string]any{"txs_hashes": batch, "decode_as_json": true}
		if err := d.post(ctx, "/get_transactions", req, &res); err != nil {
			return nil, err
		}
		if err := checkStatus("get_transactions", res.Status); err != nil {
			return nil, err
		}
		if len(res.Missed) > 0 || len(res.Txs) != len(batch) {
			return nil, fmt.Errorf("%w: get_transactions: asked %d, got %d, missed %d", ErrDaemon, len(batch), len(res.Txs), len(res.Missed))
		}
		for _, t := range res.Txs {
			out = append(out, RawTx{Hash: t.TxHash, AsJSON: []byte(t.AsJSON), InPool: t.InPool, Height: t.BlockHeight})
		}
	}
	return out, nil
}

// PoolHashes lists the transactions waiting in the daemon's pool. Only their hashes: the
// leader fetches the ones it has not scanned (Transactions), since a busy pool's full JSON
// every pass would be megabytes.
func (d *Daemon) PoolHashes(ctx context.Context) ([]string, error) {
	var res struct {
		TxHashes []string `json:"tx_hashes"`
		Status   string   `json:"status"`
	}
	if err := d.post(ctx, "/get_transaction_pool_hashes", struct{}{}, &res); err != nil {
		return nil, err
	}
	if err := checkStatus("get_transaction_pool_hashes", res.Status); err != nil {
		return nil, err
	}
	return res.TxHashes, nil
}

// jsonRPC calls a method of monerod's /json_rpc.
func (d *Daemon) jsonRPC(ctx context.Context, method string, params, result any) error {
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	req := map[string]any{"jsonrpc": "2.0", "id": "0", "method": method}
	if params != nil {
		req["params"] = params
	}
	if err := d.post(ctx, "/json_rpc", req, &env); err != nil {
		return err
	}
	if env.Error != nil {
		return fmt.Errorf("%w: %s: error %d: %s", ErrDaemon, method, env.Error.Code, env.Error.Message)
	}
	if err := json.Unmarshal(env.Result, result); err != nil {
		return fmt.Errorf("%w: %s: malformed result: %v", ErrDaemon, method, err)
	}
	return nil
}

// post sends one JSON request to path and decodes the JSON answer.
func (d *Daemon) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("watcher: encode %s: %w", path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url+path, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("watcher: %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrDaemon, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	switch {
	case err != nil:
		return fmt.Errorf("%w: %s: read: %w", ErrDaemon, path, err)
	case len(data) > maxBody:
		return fmt.Errorf("%w: %s: answer larger than %d bytes", ErrDaemon, path, maxBody)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: %s: HTTP %d", ErrDaemon, path, resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: %s: malformed answer: %v", ErrDaemon, path, err)
	}
	return nil
}

// checkStatus turns monerod's in-band status into an error.
func checkStatus(method, status string) error {
	if status == "OK" {
		return nil
	}
	return fmt.Errorf("%w: %s: status %q", ErrDaemon, method, status)
}
