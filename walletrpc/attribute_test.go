package walletrpc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The answers below are v0.18.0.0's, recorded from the Debian monero-wallet-rpc.
func TestAttributeCallsMatchTheWire(t *testing.T) {
	var params []map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage   `json:"id"`
			Method string            `json:"method"`
			Params map[string]string `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		params = append(params, req.Params)
		switch {
		case req.Method == MethodSetAttribute:
			fmt.Fprintf(w, `{"id":%s,"jsonrpc":"2.0","result":{}}`, req.ID)
		case req.Params["key"] == "xmr-escrow.wallet":
			fmt.Fprintf(w, `{"id":%s,"jsonrpc":"2.0","result":{"value":"esc-1-arbiter"}}`, req.ID)
		case req.Params["key"] == "closed":
			fmt.Fprintf(w, `{"error":{"code":-13,"message":"No wallet file"},"id":%s,"jsonrpc":"2.0"}`, req.ID)
		default:
			fmt.Fprintf(w, `{"error":{"code":-45,"message":"Attribute not found."},"id":%s,"jsonrpc":"2.0"}`, req.ID)
		}
	}))
	t.Cleanup(srv.Close)
	c := New(Config{URL: srv.URL})
	ctx := t.Context()

	if err := c.SetAttribute(ctx, "xmr-escrow.wallet", "esc-1-arbiter"); err != nil {
		t.Fatal(err)
	}
	if v, err := c.GetAttribute(ctx, "xmr-escrow.wallet"); err != nil || v != "esc-1-arbiter" {
		t.Fatalf("get_attribute = %q, %v", v, err)
	}
	if _, err := c.GetAttribute(ctx, "missing"); !IsAttributeNotFound(err) || IsRetryable(err) {
		t.Fatalf("missing attribute: %v (not found %v, retryable %v)", err, IsAttributeNotFound(err), IsRetryable(err))
	}
	if _, err := c.GetAttribute(ctx, "closed"); !IsNotOpen(err) || IsAttributeNotFound(err) {
		t.Fatalf("no wallet open: %v", err)
	}
	if want := (map[string]string{"key": "xmr-escrow.wallet", "value": "esc-1-arbiter"}); fmt.Sprint(params[0]) != fmt.Sprint(want) {
		t.Errorf("set_attribute params = %v, want %v", params[0], want)
	}
	if want := (map[string]string{"key": "xmr-escrow.wallet"}); fmt.Sprint(params[1]) != fmt.Sprint(want) {
		t.Errorf("get_attribute params = %v, want %v", params[1], want)
	}
}
