package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xmr-escrow/xmr-escrow/activities"
	"github.com/xmr-escrow/xmr-escrow/codec"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/localstack"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/starter"
)

// multisigMarker starts every multisig message of this wallet version.
const multisigMarker = "MultisigxV2"

// TestNoSecretRestsInPlaintext runs a real setup, then reads every byte the Temporal dev
// server wrote, every row of every Postgres table and every log line, looking for a
// multisig message, a wallet password, a keys file's bytes or the escrow's view key, which
// the escrow hands to the block watcher when it starts waiting for payment.
func TestNoSecretRestsInPlaintext(t *testing.T) {
	// A block watcher whose daemon never answers: the escrow registers its view key all the
	// same, and that is what this test looks for.
	s := startStackWith(t, stackOptions{rpcs: 3, watcher: "http://127.0.0.1:9"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := s.Starter.Start(ctx, input("secret", 0))
	require.NoError(t, err)
	st, err := s.Starter.WaitReady(ctx, "secret")
	require.NoError(t, err)
	// Registered means the workflow has the step's result: its history is written.
	st, err = s.Starter.WaitUntil(ctx, "secret", 200*time.Millisecond, func(st escrow.State) bool {
		return st.Funding.Watch != nil && (st.Funding.Watch.Registered || st.Funding.Watch.Failed != "")
	})
	require.NoError(t, err)
	require.True(t, st.Funding.Watch.Registered, "the escrow is registered with the block watcher: %s", st.Funding.Watch.Failed)

	secrets := []string{multisigMarker}
	for _, r := range escrow.Roles {
		secrets = append(secrets, walletPassword("secret", r))
	}
	viewKey := checkWatchedViewKey(t, ctx, s, st)
	secrets = append(secrets, hex.EncodeToString(viewKey[:]))
	// Each role's keys file is backed up at Ready, sealed: a run of its bytes, raw or as
	// Postgres prints a bytea (hex), must show nowhere.
	var keyRuns [][]byte
	for _, r := range escrow.Roles {
		keys, err := os.ReadFile(filepath.Join(walletDir(t, s, st.Assignment.For(r)), escrow.WalletName("secret", r)+".keys"))
		require.NoError(t, err)
		b, err := s.Store.GetWalletBackup(ctx, "secret", r)
		require.NoError(t, err, "the %s wallet is backed up", r)
		assert.Equal(t, keys, b.Keys, "the %s backup is the keys file as it is on disk", r)
		assert.Equal(t, activities.BackupStageReady, b.Stage)
		run := keys[len(keys)/2 : len(keys)/2+32]
		keyRuns = append(keyRuns, run)
		secrets = append(secrets, hex.EncodeToString(run))
	}
	// The dev server writes SQLite with a WAL: read the database and its side files.
	var temporalBytes []byte
	files, err := filepath.Glob(filepath.Join(s.Temporal.Dir, "*"))
	require.NoError(t, err)
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			temporalBytes = append(temporalBytes, b...)
		}
	}
	// Control: history is stored readable (not compressed), so a plaintext secret would show.
	require.True(t, bytes.Contains(temporalBytes, []byte("MakeMultisig")), "the scan must see history in the clear")
	for _, sec := range secrets {
		assert.False(t, bytes.Contains(temporalBytes, []byte(sec)), "Temporal's files contain %.12s…", sec)
	}
	for _, run := range append(keyRuns, viewKey[:]) {
		assert.False(t, bytes.Contains(temporalBytes, run), "Temporal's files contain a keys file's or the view key's bytes")
	}

	var tables []string
	require.NoError(t, s.Store.DB().SelectContext(ctx, &tables, `SELECT quote_ident(table_schema)||'.'||quote_ident(table_name) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog','information_schema')`))
	require.NotEmpty(t, tables)
	rows := 0
	for _, tbl := range tables {
		var dump []string
		require.NoError(t, s.Store.DB().SelectContext(ctx, &dump, `SELECT t::text FROM `+tbl+` t`))
		for _, row := range dump {
			rows++
			for _, sec := range secrets {
				assert.NotContains(t, row, sec, "table %s", tbl)
			}
		}
	}
	require.Positive(t, rows)
	var enc []byte
	require.NoError(t, s.Store.DB().GetContext(ctx, &enc, `SELECT multisig_infos_enc FROM escrows WHERE escrow_id = 'secret'`))
	assert.NotEmpty(t, enc, "the multisig infos are stored, encrypted")
	var backups int
	require.NoError(t, s.Store.DB().GetContext(ctx, &backups, `SELECT count(*) FROM wallet_backups WHERE escrow_id = 'secret'`))
	assert.Equal(t, len(escrow.Roles), backups, "one sealed backup per role")
	var sealed []byte
	require.NoError(t, s.Store.DB().GetContext(ctx, &sealed, `SELECT view_key FROM watched_escrows WHERE escrow_id = 'secret'`))
	assert.False(t, bytes.Contains(sealed, viewKey[:]), "the view key is stored sealed")

	for _, e := range stackLogs[s].All() {
		line, _ := json.Marshal(e.ContextMap())
		for _, sec := range secrets {
			assert.NotContains(t, e.Message+string(line), sec, "log line %q", e.Message)
		}
	}
}

// checkWatchedViewKey reads the escrow's view key from each role's wallet (query_key, plain
// net/http), checks that the three agree (a multisig wallet's view key is shared) and that
// the block watcher's row opens to it, and returns it.
func checkWatchedViewKey(t *testing.T, ctx context.Context, s *localstack.Stack, st escrow.State) [32]byte {
	t.Helper()
	var key [32]byte
	for i, r := range escrow.Roles {
		var q struct {
			Key string `json:"key"`
		}
		require.NoError(t, call(rpcURL(t, s, st.Assignment.For(r)), "query_key", map[string]string{"key_type": "view_key"}, &q))
		b, err := hex.DecodeString(q.Key)
		require.NoError(t, err)
		require.Len(t, b, 32)
		if i > 0 {
			require.Equal(t, key[:], b, "the %s wallet shares the view key", r)
		}
		copy(key[:], b)
	}
	watches, err := s.Store.Watches(ctx)
	require.NoError(t, err)
	require.Len(t, watches, 1)
	assert.Equal(t, "secret", watches[0].EscrowID)
	assert.Equal(t, st.Address, watches[0].Address)
	assert.True(t, key == watches[0].ViewKey, "the watcher has the wallet's view key")
	return key
}

// TestCodecServerDecodesAPayloadFromHistory takes the encrypted start input out of the
// run's history and has the codec server decode it, as the Web UI does.
func TestCodecServerDecodesAPayloadFromHistory(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run, err := s.Starter.Start(ctx, input("decode-me", 0))
	require.NoError(t, err)
	_, err = s.Starter.WaitReady(ctx, "decode-me")
	require.NoError(t, err)

	it := s.Client.GetWorkflowHistory(ctx, run.WorkflowID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	require.True(t, it.HasNext())
	first, err := it.Next()
	require.NoError(t, err)
	payload := first.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0]
	require.True(t, codec.IsEncrypted(payload), "history holds the input encrypted")
	assert.NotContains(t, string(payload.Data), "decode-me")

	body, err := protojson.Marshal(first.GetWorkflowExecutionStartedEventAttributes().GetInput())
	require.NoError(t, err)
	post := func(ns string) (*http.Response, []byte) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.CodecURL+"/decode", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", ns)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(res.Body)
		return res, buf.Bytes()
	}
	res, out := post("default")
	require.Equal(t, http.StatusOK, res.StatusCode, string(out))
	var decoded struct {
		Payloads []struct {
			Data string `json:"data"`
		} `json:"payloads"`
	}
	require.NoError(t, json.Unmarshal(out, &decoded))
	require.Len(t, decoded.Payloads, 1)
	data, err := base64.StdEncoding.DecodeString(decoded.Payloads[0].Data)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"escrow_id":"decode-me"`)

	res, _ = post("someone-else")
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "only the configured namespace is served")
}

// TestMarketplaceReadsTheProjection reads a finished escrow through the starter, from
// Postgres and from Temporal's visibility.
func TestMarketplaceReadsTheProjection(t *testing.T) {
	s := startStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := s.Starter.Start(ctx, input("read-me", 0))
	require.NoError(t, err)
	res, err := s.Starter.WaitReady(ctx, "read-me")
	require.NoError(t, err)

	var got starter.Escrow
	require.Eventually(t, func() bool {
		got, err = s.Starter.Get(ctx, "read-me")
		return err == nil && got.Status == escrow.StatusAwaitingFunding
	}, 30*time.Second, 100*time.Millisecond, "the projection follows the workflow: %+v %v", got, err)
	assert.Equal(t, escrow.PhaseReady, got.Phase)
	assert.Equal(t, res.Address, got.Address)
	assert.Equal(t, int64(2_000_000_000_000), got.AmountAtomic)
	assert.Equal(t, "order-read-me", got.OrderID)
	assert.Equal(t, "vendor-8", got.VendorID)
	assert.Equal(t, int64(7), got.Version, "one version per change: 6 setup phases, then awaiting funding")

	ready, err := s.Starter.List(ctx, store.Filter{Status: escrow.StatusAwaitingFunding})
	require.NoError(t, err)
	require.Len(t, ready, 1)
	assert.Equal(t, "read-me", ready[0].EscrowID)
	none, err := s.Starter.List(ctx, store.Filter{Phase: escrow.PhaseFailed})
	require.NoError(t, err)
	assert.Empty(t, none)
	_, err = s.Starter.List(ctx, store.Filter{Status: "lost"})
	assert.Error(t, err)

	require.Eventually(t, func() bool {
		runs, err := s.Starter.ListByPhase(ctx, escrow.PhaseReady, 3)
		return err == nil && len(runs) == 1 && runs[0].WorkflowID == escrow.WorkflowID("read-me")
	}, 30*time.Second, 250*time.Millisecond, "visibility lists the escrow by its search attributes")
	_, err = s.Starter.ListByPhase(ctx, "Lost", 0)
	assert.Error(t, err)
	_, err = s.Starter.Get(ctx, "nobody")
	assert.True(t, errors.Is(err, starter.ErrUnknownEscrow))
	assert.False(t, strings.Contains(got.Reason, multisigMarker))
}
