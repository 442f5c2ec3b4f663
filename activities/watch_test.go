package activities

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/xmr-escrow/xmr-escrow/activities/projection"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
	"github.com/xmr-escrow/xmr-escrow/internal/store/schema"
	"github.com/xmr-escrow/xmr-escrow/internal/store/storetest"
	"github.com/xmr-escrow/xmr-escrow/keyring"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// A throw-away wallet made by monero-wallet-rpc v0.18.0.0: its address and what query_key
// {"key_type":"view_key"} answered (the same pair as moneroaddr's test vector).
const (
	watchAddress = "49q8LzHbx1HNHKjrKKVqfs42tj7TkrBfPj4PVDsG8E9xHJtjaYSXbzA7VvK6K4G5PDg6UxBNVFQSkQ9KJT8RdHf5Kxjkcw3"
	watchViewKey = "d13d3e9fd25534c549c970a5d6f260e82953ee4f12093a8d7b7cffd83b2abd0f"
)

// fakeWatches records the watches it is given, or refuses them all with err.
type fakeWatches struct {
	got      []store.Watch
	followed []string
	err      error
}

func (f *fakeWatches) FollowPayout(_ context.Context, escrowID string, hashes []string, target uint64) error {
	f.followed = append(f.followed, fmt.Sprintf("%s %v %d", escrowID, hashes, target))
	return f.err
}

func (f *fakeWatches) FollowFunding(_ context.Context, escrowID string, hashes []string, target uint64) error {
	f.followed = append(f.followed, fmt.Sprintf("funding %s %v %d", escrowID, hashes, target))
	return f.err
}

func (f *fakeWatches) RegisterWatch(_ context.Context, w store.Watch) error {
	if f.err != nil {
		return f.err
	}
	f.got = append(f.got, w)
	return nil
}

// watchedWallet scripts the arbiter's finished wallet at height with the given view key.
func watchedWallet(t *testing.T, height uint64, key string) (*testWallet, *fakeWatches) {
	t.Helper()
	tw := newTestWallet(t)
	fw := &fakeWatches{}
	tw.w.watches = fw
	tw.fake.answer(walletrpc.MethodGetHeight, walletrpc.GetHeightResult{Height: height})
	tw.fake.answer(walletrpc.MethodGetAddress, map[string]any{"address": watchAddress})
	tw.fake.answer(walletrpc.MethodQueryKey, map[string]any{"key": key})
	return tw, fw
}

var watchInput = RegisterWatchInput{EscrowID: testEscrowID, Role: escrow.Arbiter, Address: watchAddress}

// requireNoKey fails if the view key shows in any of outs, whole or as its first half.
func requireNoKey(t *testing.T, key string, outs ...string) {
	t.Helper()
	for _, out := range outs {
		require.NotContains(t, out, key[:32])
	}
}

func TestRegisterWatchRecordsTheViewKeyAndReturnsNone(t *testing.T) {
	tw, fw := watchedWallet(t, 305, watchViewKey)
	var out RegisterWatchResult
	require.NoError(t, tw.exec(tw.w.RegisterWatch, watchInput, &out))
	require.Len(t, fw.got, 1)
	w := fw.got[0]
	assert.Equal(t, testEscrowID, w.EscrowID)
	assert.Equal(t, watchAddress, w.Address)
	assert.Equal(t, watchViewKey, hex.EncodeToString(w.ViewKey[:]))
	assert.EqualValues(t, 305-WatchMargin, w.FromHeight, "a margin below the wallet's height")
	assert.Equal(t, RegisterWatchResult{Registered: true, FromHeight: 305 - WatchMargin, Height: 305, Opens: 1}, out)
	calls := tw.fake.called()
	assert.True(t, tw.fake.calledAfter(walletrpc.MethodRefresh, walletrpc.MethodGetHeight), "the height is read after a refresh: %v", calls)
	assert.Equal(t, []json.RawMessage{json.RawMessage(`{"key_type":"view_key"}`)}, tw.fake.paramsOf(walletrpc.MethodQueryKey))
	res, err := json.Marshal(out)
	require.NoError(t, err)
	requireNoKey(t, watchViewKey, string(res), tw.logs.String())
	assert.Contains(t, tw.logs.String(), "registered with the block watcher")
}

func TestAHeightBelowTheMarginWatchesFromTheStart(t *testing.T) {
	tw, fw := watchedWallet(t, 3, watchViewKey)
	var out RegisterWatchResult
	require.NoError(t, tw.exec(tw.w.RegisterWatch, watchInput, &out))
	require.Len(t, fw.got, 1)
	assert.Zero(t, fw.got[0].FromHeight)
}

// A view key that is short, not hex, or not the address's would blind the watcher: the step
// fails for good, with a message that quotes none of it, and nothing is recorded.
func TestABadViewKeyFromTheWalletIsAProtocolError(t *testing.T) {
	other := "0" + watchViewKey[1:]
	for name, key := range map[string]string{
		"empty":           "",
		"short":           watchViewKey[:40],
		"long":            watchViewKey + "00",
		"not hex":         "zz" + watchViewKey[2:],
		"another's":       other,
		"non-canonical":   strings.Repeat("f", 64),
		"padded with hex": " " + watchViewKey[1:],
	} {
		t.Run(name, func(t *testing.T) {
			tw, fw := watchedWallet(t, 305, key)
			err := tw.exec(tw.w.RegisterWatch, watchInput, new(RegisterWatchResult))
			appErr := appError(t, err)
			assert.Equal(t, escrow.ErrTypeProtocol, appErr.Type())
			assert.True(t, appErr.NonRetryable())
			assert.Empty(t, fw.got)
			if len(key) >= 32 {
				requireNoKey(t, key, err.Error(), tw.logs.String())
			}
			requireNoKey(t, watchViewKey, err.Error(), tw.logs.String())
		})
	}
}

func TestAWalletWithAnotherAddressIsNotWatched(t *testing.T) {
	tw, fw := watchedWallet(t, 305, watchViewKey)
	in := watchInput
	in.Address = "48qYABs3W1BLzsHcPmPzqDMqQftxBBBQ5DtsEeULhsxqaWknsUPsLkdAq63wqANJ7L2ZdBbZxwVvBfZz3E4Aw4RUMFDn6h5"
	appErr := appError(t, tw.exec(tw.w.RegisterWatch, in, new(RegisterWatchResult)))
	assert.Equal(t, escrow.ErrTypeProtocol, appErr.Type())
	assert.Empty(t, fw.got)

	in.Address = "not an address"
	appErr = appError(t, tw.exec(tw.w.RegisterWatch, in, new(RegisterWatchResult)))
	assert.Equal(t, escrow.ErrTypeInvalidInput, appErr.Type())
}

func TestRegisterWatchWithoutAStoreRegistersNothing(t *testing.T) {
	tw, _ := watchedWallet(t, 305, watchViewKey)
	tw.w.watches = nil
	var out RegisterWatchResult
	require.NoError(t, tw.exec(tw.w.RegisterWatch, watchInput, &out))
	assert.False(t, out.Registered)
	assert.NotContains(t, tw.fake.called(), walletrpc.MethodQueryKey, "the key is not even read")
}

func TestAStoreThatRefusesOrIsDownDecidesTheRetry(t *testing.T) {
	tw, fw := watchedWallet(t, 305, watchViewKey)
	fw.err = fmt.Errorf("store: register watch: %w: bad id", store.ErrInvalid)
	appErr := appError(t, tw.exec(tw.w.RegisterWatch, watchInput, new(RegisterWatchResult)))
	assert.Equal(t, escrow.ErrTypeInvalidInput, appErr.Type())
	assert.True(t, appErr.NonRetryable())

	fw.err = errors.New("dial tcp 127.0.0.1:5432: connection refused")
	err := tw.exec(tw.w.RegisterWatch, watchInput, new(RegisterWatchResult))
	requireRetryable(t, err)
	requireNoKey(t, watchViewKey, err.Error(), tw.logs.String())
}

// On PostgreSQL: the step's key reaches the table sealed, and Unwatch (on the escrow queue,
// no wallet) takes it off again, twice without complaint.
func TestRegisterAndUnwatchOnTheStore(t *testing.T) {
	keys, _, err := keyring.Generate("k1")
	require.NoError(t, err)
	s, err := schema.Open(t.Context(), storetest.NewDatabase(t), keys)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	tw, _ := watchedWallet(t, 305, watchViewKey)
	tw.w.watches = s
	require.NoError(t, tw.exec(tw.w.RegisterWatch, watchInput, new(RegisterWatchResult)))
	var dump []string
	require.NoError(t, s.DB().SelectContext(t.Context(), &dump, `SELECT t::text FROM watched_escrows t`))
	require.Len(t, dump, 1)
	assert.Contains(t, dump[0], watchAddress)
	requireNoKey(t, watchViewKey, dump[0])

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(projection.New(s))
	for range 2 {
		_, err := env.ExecuteActivity(projection.New(s).Unwatch, projection.UnwatchInput{EscrowID: testEscrowID})
		require.NoError(t, err)
	}
	n, err := s.CountWatches(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = env.ExecuteActivity(projection.New(s).Unwatch, projection.UnwatchInput{EscrowID: "../x"})
	appErr := appError(t, err)
	assert.Equal(t, escrow.ErrTypeInvalidInput, appErr.Type())
}

// TestFollowPayoutRecordsTheHashesWhereAWatcherRuns: the hashes go to the store; a worker
// that keeps no watches follows nothing, and says so.
func TestFollowPayoutRecordsTheHashesWhereAWatcherRuns(t *testing.T) {
	tw, fw := watchedWallet(t, 300, watchViewKey)
	in := FollowInput{EscrowID: testEscrowID, TxHashes: []string{strings.Repeat("ab", 32)}, Target: 10}
	var out FollowResult
	require.NoError(t, tw.exec(tw.w.FollowPayout, in, &out))
	assert.True(t, out.Following)
	assert.Equal(t, []string{testEscrowID + " [" + strings.Repeat("ab", 32) + "] 10"}, fw.followed)

	plain := newTestWallet(t)
	out = FollowResult{}
	require.NoError(t, plain.exec(plain.w.FollowPayout, in, &out))
	assert.False(t, out.Following, "no watcher, no following: the payout polls")
}
