package walletrpc

import (
	"context"
	"fmt"
)

// MethodQueryKey reads one of the open wallet's keys ("view_key", "spend_key", "mnemonic").
const MethodQueryKey = "query_key"

// KeyTypeViewKey asks query_key for the private view key: for a multisig wallet, the view
// key all its signers share, which sees every payment to the multisig address.
const KeyTypeViewKey = "view_key"

// QueryKeyRequest names the key to read.
type QueryKeyRequest struct {
	KeyType string `json:"key_type"`
}

// QueryKeyResult is SECRET: the key, in hex for keys (64 characters for a view key, a
// little-endian scalar), in words for the mnemonic. String hides it.
type QueryKeyResult struct {
	Key string `json:"key"`
}

// String hides the key so a stray %v cannot leak it.
func (r QueryKeyResult) String() string {
	return fmt.Sprintf("{Key:%s}", redactedLen(r.Key))
}

// GoString is String, so %#v cannot dump the key either.
func (r QueryKeyResult) GoString() string { return r.String() }

// QueryKey reads one of the open wallet's keys. v0.18 answers {"key": "<hex>"} for view_key,
// code -13 (CodeNotOpen) with no wallet open, and code 0 "key_type … not found" for an
// unknown key type.
func (c *Client) QueryKey(ctx context.Context, req QueryKeyRequest) (QueryKeyResult, error) {
	return call[QueryKeyResult](ctx, c, MethodQueryKey, req)
}
