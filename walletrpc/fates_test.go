package walletrpc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A transaction a wallet has just submitted is in monerod's pool but not yet relayed, and no
// block template holds it; TxFates must tell that apart from one that is, or a test that mines
// right after a transfer expects it in a block that left it out.
func TestTxFatesTellsARelayedPoolTransactionFromAFreshOne(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/get_transactions" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "OK", "txs": []map[string]any{
			{"tx_hash": "fresh", "in_pool": true, "relayed": false},
			{"tx_hash": "relayed", "in_pool": true, "relayed": true},
			{"tx_hash": "mined", "in_pool": false, "block_height": 302},
		}})
	}))
	t.Cleanup(srv.Close)
	fates, err := NewDaemon(Config{URL: srv.URL}).TxFates(t.Context(), []string{"fresh", "relayed", "mined", "gone"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]TxFate{
		"fresh":   {Known: true, InPool: true},
		"relayed": {Known: true, InPool: true, Relayed: true},
		"mined":   {Known: true, Height: 302},
		"gone":    {},
	}
	for id, w := range want {
		if fates[id] != w {
			t.Errorf("%s: got %+v, want %+v", id, fates[id], w)
		}
	}
}
