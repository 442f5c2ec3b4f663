package activities

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// arbiterWallet is the fake's wallet for testEscrowID's arbiter.
var arbiterWallet = escrow.WalletName(testEscrowID, escrow.Arbiter)

// since returns the calls made after the first n.
func (f *fakeRPC) since(n int) []string { return f.called()[n:] }

// openedFiles returns the filename of every open_wallet call.
func (f *fakeRPC) openedFiles(t *testing.T) []string {
	var out []string
	for _, raw := range f.paramsOf(walletrpc.MethodOpenWallet) {
		var p struct {
			Filename string `json:"filename"`
		}
		require.NoError(t, json.Unmarshal(raw, &p))
		out = append(out, p.Filename)
	}
	return out
}

// steps are activities of each kind the check guards: a mutating round-0 step, an import
// and a read-only poll, each run on the arbiter's wallet.
func steps(tw *testWallet) map[string]func() (int, error) {
	in := WalletInput{EscrowID: testEscrowID, Role: escrow.Arbiter}
	return map[string]func() (int, error){
		"prepare": func() (int, error) {
			var out MultisigMessage
			err := tw.exec(tw.w.PrepareMultisig, in, &out)
			return out.Opens, err
		},
		"import": func() (int, error) {
			var out ImportResult
			err := tw.exec(tw.w.ImportMultisigInfo, ImportInput{EscrowID: testEscrowID, Role: escrow.Arbiter, Infos: []string{"info"}}, &out)
			return out.Opens, err
		},
		"funding poll": func() (int, error) {
			var out FundingResult
			err := tw.exec(tw.w.CheckFunding, FundingInput{EscrowID: testEscrowID, Role: escrow.Arbiter, MinConfirmations: 10}, &out)
			return out.Opens, err
		},
	}
}

func TestAStepFindsAnotherWalletOpenAndReopensItsOwn(t *testing.T) {
	for name := range steps(newTestWallet(t)) {
		t.Run(name, func(t *testing.T) {
			tw := newTestWallet(t)
			step := steps(tw)[name]
			_, err := step()
			require.NoError(t, err)
			require.Equal(t, []string{arbiterWallet}, tw.fake.openedFiles(t))

			// Another process opens another escrow's wallet on the same instance.
			tw.fake.openBehindOurBack("esc-2-vendor")
			n := len(tw.fake.called())
			opens, err := step()
			require.NoError(t, err)

			assert.Equal(t, 1, opens)
			calls := tw.fake.since(n)
			require.GreaterOrEqual(t, len(calls), 3, "%v", calls)
			assert.Equal(t, []string{walletrpc.MethodGetAttribute, walletrpc.MethodOpenWallet, walletrpc.MethodGetAttribute}, calls[:3],
				"check the label, open its own wallet, confirm the opened wallet's label, then work")
			assert.Equal(t, []string{arbiterWallet, arbiterWallet}, tw.fake.openedFiles(t))
			assert.Equal(t, int64(1), tw.counters.Mismatches.Load())
			assert.Contains(t, tw.logs.String(), "believed_open="+arbiterWallet)
			assert.Contains(t, tw.logs.String(), `found="wallet esc-2-vendor"`)
		})
	}
}

func TestAStepOnTheRightWalletDoesNotReopen(t *testing.T) {
	for name := range steps(newTestWallet(t)) {
		t.Run(name, func(t *testing.T) {
			tw := newTestWallet(t)
			step := steps(tw)[name]
			_, err := step()
			require.NoError(t, err)
			n := len(tw.fake.called())
			opens, err := step()
			require.NoError(t, err)
			assert.Equal(t, 0, opens)
			calls := tw.fake.since(n)
			assert.Equal(t, walletrpc.MethodGetAttribute, calls[0], "the step checks the label first: %v", calls)
			assert.NotContains(t, calls, walletrpc.MethodOpenWallet)
			assert.NotContains(t, calls, walletrpc.MethodSetAttribute)
			assert.Zero(t, tw.counters.Mismatches.Load())
		})
	}
}

func TestCreateWalletLabelsAndStoresTheNewWallet(t *testing.T) {
	tw := newTestWallet(t)
	tw.fake.answer(walletrpc.MethodPrepareMultisig, map[string]string{"multisig_info": "MultisigxV2-round0"})
	var out CreateWalletResult
	require.NoError(t, tw.exec(tw.w.CreateWallet, WalletInput{EscrowID: testEscrowID, Role: escrow.Arbiter}, &out))
	assert.Equal(t, []string{walletrpc.MethodCreateWallet, walletrpc.MethodSetAttribute, walletrpc.MethodStore, walletrpc.MethodPrepareMultisig}, tw.fake.called(),
		"the label must be on disk before any step relies on it; the round-0 message comes with the wallet")
	assert.Equal(t, "MultisigxV2-round0", out.Info, "CreateWallet returns the round-0 message")
	var p map[string]string
	require.NoError(t, json.Unmarshal(tw.fake.paramsOf(walletrpc.MethodSetAttribute)[0], &p))
	assert.Equal(t, map[string]string{"key": WalletLabelKey, "value": arbiterWallet}, p)
}

func TestAfterAWorkerRestartTheStillOpenWalletIsNotReopened(t *testing.T) {
	tw := newTestWallet(t) // a fresh process: it believes nothing is open
	tw.fake.openBehindOurBack(arbiterWallet)
	opens, err := steps(tw)["prepare"]()
	require.NoError(t, err)
	assert.Equal(t, 0, opens)
	assert.Equal(t, []string{walletrpc.MethodGetAttribute, walletrpc.MethodPrepareMultisig}, tw.fake.called())
	assert.Zero(t, tw.counters.Mismatches.Load(), "a fresh process had no belief to be wrong about")
}

func TestAWalletMadeBeforeLabelsIsLabelledWhenOpened(t *testing.T) {
	tw := newTestWallet(t)
	tw.fake.setLabel(arbiterWallet, "")
	_, err := steps(tw)["prepare"]()
	require.NoError(t, err)
	assert.Equal(t, []string{
		walletrpc.MethodGetAttribute, walletrpc.MethodOpenWallet, walletrpc.MethodGetAttribute,
		walletrpc.MethodSetAttribute, walletrpc.MethodStore, walletrpc.MethodPrepareMultisig,
	}, tw.fake.called())
	assert.Zero(t, tw.counters.Mismatches.Load())
}

func TestAWalletClosedBehindOurBackCountsAMismatch(t *testing.T) {
	tw := newTestWallet(t)
	step := steps(tw)["prepare"]
	_, err := step()
	require.NoError(t, err)
	tw.fake.openBehindOurBack("") // wallet-rpc restarted
	opens, err := step()
	require.NoError(t, err)
	assert.Equal(t, 1, opens)
	assert.Equal(t, int64(1), tw.counters.Mismatches.Load())
	assert.Contains(t, tw.logs.String(), `found="no wallet open"`)
}

func TestAnUnlabelledWalletWhereOursWasBelievedOpenCountsAMismatch(t *testing.T) {
	tw := newTestWallet(t)
	step := steps(tw)["prepare"]
	_, err := step()
	require.NoError(t, err)
	tw.fake.setLabel("someone-elses", "")
	tw.fake.openBehindOurBack("someone-elses")
	_, err = step()
	require.NoError(t, err)
	assert.Equal(t, int64(1), tw.counters.Mismatches.Load())
	assert.Equal(t, []string{arbiterWallet, arbiterWallet}, tw.fake.openedFiles(t))
}

func TestACheckThatCannotReachTheInstanceOpensNothing(t *testing.T) {
	tw := newTestWallet(t)
	tw.fake.handle(walletrpc.MethodGetAttribute, func(json.RawMessage) (any, error) { return nil, httpStatus(502) })
	_, err := steps(tw)["prepare"]()
	requireRetryable(t, err)
	assert.NotContains(t, tw.fake.called(), walletrpc.MethodOpenWallet)
	assert.NotContains(t, tw.fake.called(), walletrpc.MethodPrepareMultisig)
}

func TestAWalletFileLabelledAsAnotherIsRelabelledAndCounted(t *testing.T) {
	tw := newTestWallet(t)
	tw.fake.setLabel(arbiterWallet, "esc-9-buyer") // files copied under this name
	_, err := steps(tw)["prepare"]()
	require.NoError(t, err)
	assert.Equal(t, int64(1), tw.counters.Mismatches.Load())
	assert.True(t, tw.fake.calledAfter(walletrpc.MethodSetAttribute, walletrpc.MethodStore))
	n := len(tw.fake.called())
	_, err = steps(tw)["prepare"]()
	require.NoError(t, err)
	assert.NotContains(t, tw.fake.since(n), walletrpc.MethodOpenWallet, "relabelled, the wallet is recognised")
}
