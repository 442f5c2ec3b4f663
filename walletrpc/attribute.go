package walletrpc

import "context"

// Method names of the wallet attribute calls: free-form strings stored in the wallet's
// cache file (wallet2's m_attributes, present since long before v0.18), written by store.
const (
	MethodSetAttribute = "set_attribute" // MethodSetAttribute sets a string on the open wallet.
	MethodGetAttribute = "get_attribute" // MethodGetAttribute reads it (-45 when unset).
)

// setAttributeRequest is set_attribute's parameters. wallet2 proposes keys of the form
// "<client>.<name>" so that clients do not overwrite each other's values.
type setAttributeRequest struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// getAttributeRequest is get_attribute's parameters.
type getAttributeRequest struct {
	Key string `json:"key"`
}

// getAttributeResult is the value stored under the key.
type getAttributeResult struct {
	Value string `json:"value"`
}

// SetAttribute stores value under key on the open wallet, in memory only: it is on disk
// once store (or a close) returns, and lost if wallet-rpc dies first.
func (c *Client) SetAttribute(ctx context.Context, key, value string) error {
	return c.Call(ctx, MethodSetAttribute, setAttributeRequest{Key: key, Value: value}, nil)
}

// GetAttribute reads key from the open wallet. It fails with -13 (IsNotOpen) when no wallet
// is open and -45 (IsAttributeNotFound) when the wallet has no such key.
func (c *Client) GetAttribute(ctx context.Context, key string) (string, error) {
	r, err := call[getAttributeResult](ctx, c, MethodGetAttribute, getAttributeRequest{Key: key})
	return r.Value, err
}

// IsAttributeNotFound reports get_attribute's -45 "Attribute not found.": the open wallet
// never had the key set (or it was set and not stored before a crash).
func IsAttributeNotFound(err error) bool {
	code, ok := Code(err)
	return ok && code == CodeAttributeNotFound
}
