package walletrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxFatesBody bounds a /get_transactions answer read for fates (no transaction bodies are
// asked for, so it is small; a broken daemon must not exhaust memory).
const maxFatesBody = 4 << 20

// TxFate is where monerod has a transaction: mined at a height, in its pool, or neither.
type TxFate struct {
	Known  bool
	InPool bool
	// Height is the block holding it when mined (0 in the pool).
	Height uint64
	// Relayed says a pool transaction has been handed to the network. monerod puts a
	// transaction that arrived by RPC into block templates only from then on, and the hand-off
	// runs after send_raw_transaction has answered.
	Relayed bool
}

// TxFates asks monerod (/get_transactions, without the bodies) where each transaction is.
// A wallet's word is not final: it may mark a relayed transaction failed that a block later
// holds, and only the daemon says so.
func (d *Daemon) TxFates(ctx context.Context, hashes []string) (map[string]TxFate, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	body, err := json.Marshal(map[string]any{"txs_hashes": hashes, "decode_as_json": false, "prune": true})
	if err != nil {
		return nil, fmt.Errorf("monerod get_transactions: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.baseURL+"/get_transactions", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("monerod get_transactions: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.hc.Do(req)
	if err != nil {
		return nil, &TransportError{Method: "get_transactions", Err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxFatesBody))
	if err != nil {
		return nil, &TransportError{Method: "get_transactions", Err: err}
	}
	if resp.StatusCode/100 != 2 {
		return nil, &TransportError{Method: "get_transactions", StatusCode: resp.StatusCode, Err: fmt.Errorf("HTTP %d", resp.StatusCode)}
	}
	var res struct {
		Txs []struct {
			TxHash      string `json:"tx_hash"`
			InPool      bool   `json:"in_pool"`
			BlockHeight uint64 `json:"block_height"`
			Relayed     bool   `json:"relayed"`
		} `json:"txs"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("monerod get_transactions: %w", &protocolError{Method: "get_transactions", Reason: "undecodable answer"})
	}
	if err := checkDaemonStatus("get_transactions", res.Status); err != nil {
		return nil, err
	}
	out := make(map[string]TxFate, len(hashes))
	for _, h := range hashes {
		out[h] = TxFate{}
	}
	for _, t := range res.Txs {
		if _, asked := out[t.TxHash]; asked {
			out[t.TxHash] = TxFate{Known: true, InPool: t.InPool, Height: t.BlockHeight, Relayed: t.Relayed}
		}
	}
	return out, nil
}
