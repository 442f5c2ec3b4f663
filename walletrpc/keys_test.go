package walletrpc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// recordedViewKey is query_key's answer as v0.18.0.0 sent it for a throw-away wallet.
const recordedViewKey = "d13d3e9fd25534c549c970a5d6f260e82953ee4f12093a8d7b7cffd83b2abd0f"

func TestQueryKeySendsTheKeyTypeAndHidesTheKey(t *testing.T) {
	var got map[string]any
	open := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params map[string]any  `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Method != MethodQueryKey {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		got = req.Params
		if !open {
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-13,"message":"No wallet file"}}`, req.ID)
			return
		}
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"key": %q}}`, req.ID, recordedViewKey)
	}))
	t.Cleanup(srv.Close)
	c := New(Config{URL: srv.URL})
	res, err := c.QueryKey(t.Context(), QueryKeyRequest{KeyType: KeyTypeViewKey})
	if err != nil {
		t.Fatal(err)
	}
	if res.Key != recordedViewKey || len(got) != 1 || got["key_type"] != "view_key" {
		t.Fatalf("query_key sent %v, got a key of %d characters", got, len(res.Key))
	}
	for _, s := range []string{fmt.Sprint(res), fmt.Sprintf("%+v", res), fmt.Sprintf("%#v", res), res.String()} {
		if strings.Contains(s, recordedViewKey[:16]) {
			t.Fatalf("the key is printed: %s", s)
		}
	}
	open = false
	_, err = c.QueryKey(t.Context(), QueryKeyRequest{KeyType: KeyTypeViewKey})
	if !IsNotOpen(err) {
		t.Fatalf("no wallet open: got %v", err)
	}
}
