package codec

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/xmr-escrow/xmr-escrow/keyring"
)

const secret = "MultisigxV2R1-secret-multisig-info"

func newKeyring(t testing.TB, spec string) *keyring.Keyring {
	t.Helper()
	k, err := keyring.Parse(spec)
	require.NoError(t, err)
	return k
}

var (
	spec1 = "k1:" + strings.Repeat("11", keyring.KeySize)
	spec2 = "k2:" + strings.Repeat("22", keyring.KeySize)
)

type msg struct {
	Info  string `json:"info"`
	Round int    `json:"round"`
}

func TestDataConverterRoundTrip(t *testing.T) {
	dc := DataConverter(newKeyring(t, spec1))
	p, err := dc.ToPayload(msg{Info: secret, Round: 2})
	require.NoError(t, err)

	assert.Equal(t, MetadataEncoding, string(p.Metadata[converter.MetadataEncoding]))
	assert.Equal(t, "k1", string(p.Metadata[MetadataKeyID]))
	assert.False(t, bytes.Contains(p.Data, []byte(secret)), "ciphertext contains the plaintext")
	assert.False(t, bytes.Contains(p.Data, []byte("json/plain")), "original encoding leaks")

	var got msg
	require.NoError(t, dc.FromPayload(p, &got))
	assert.Equal(t, msg{Info: secret, Round: 2}, got)
}

// A client of the namespace without the payload key sends plaintext, say a rogue start or a
// wallet step's input: the production codec refuses it, so no worker acts on it.
func TestAPlaintextPayloadIsRefusedByAProductionCodec(t *testing.T) {
	plain, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"escrow_id": "e-1", "address": "48thief"})
	require.NoError(t, err)
	_, err = NewPayloadCodec(newKeyring(t, spec1)).Decode([]*commonpb.Payload{plain})
	require.ErrorIs(t, err, ErrPlaintext)

	var s map[string]string
	require.ErrorIs(t, DataConverter(newKeyring(t, spec1)).FromPayload(plain, &s), ErrPlaintext)
	assert.Nil(t, s)
}

// The codec server only shows histories: what was never encrypted is shown as it is.
func TestTheDisplayCodecPassesPlainPayloadsThrough(t *testing.T) {
	plain, err := converter.GetDefaultDataConverter().ToPayload("not secret")
	require.NoError(t, err)
	out, err := newDisplayCodec(newKeyring(t, spec1)).Decode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	require.Len(t, out, 1)
	assert.Same(t, plain, out[0])
}

func TestDecodeWrongKeyFails(t *testing.T) {
	enc, err := DataConverter(newKeyring(t, spec1)).ToPayload(secret)
	require.NoError(t, err)

	_, err = NewPayloadCodec(newKeyring(t, spec2)).Decode([]*commonpb.Payload{enc})
	assert.ErrorIs(t, err, keyring.ErrUnknownKey)

	// Same id, different key material: authentication must fail, not yield garbage.
	otherK1 := "k1:" + strings.Repeat("33", keyring.KeySize)
	_, err = NewPayloadCodec(newKeyring(t, otherK1)).Decode([]*commonpb.Payload{enc})
	assert.ErrorIs(t, err, keyring.ErrDecrypt)

	var s string
	err = DataConverter(newKeyring(t, otherK1)).FromPayload(enc, &s)
	require.Error(t, err)
	assert.Empty(t, s)
}

func TestDecodeAfterRotation(t *testing.T) {
	enc, err := DataConverter(newKeyring(t, spec1)).ToPayload(secret)
	require.NoError(t, err)
	rotated := DataConverter(newKeyring(t, spec2+","+spec1))
	var s string
	require.NoError(t, rotated.FromPayload(enc, &s))
	assert.Equal(t, secret, s)
	again, err := rotated.ToPayload(secret)
	require.NoError(t, err)
	assert.Equal(t, "k2", string(again.Metadata[MetadataKeyID]))
}

func TestEncodeIsWholePayload(t *testing.T) {
	c := NewPayloadCodec(newKeyring(t, spec1))
	orig := &commonpb.Payload{
		Metadata: map[string][]byte{"encoding": []byte("json/plain"), "messageType": []byte("x.Y")},
		Data:     []byte(`"` + secret + `"`),
	}
	enc, err := c.Encode([]*commonpb.Payload{orig, orig})
	require.NoError(t, err)
	require.Len(t, enc, 2)
	assert.NotEqual(t, enc[0].Data, enc[1].Data, "each encode uses a fresh nonce")
	assert.Len(t, enc[0].Metadata, 2)
	dec, err := c.Decode(enc)
	require.NoError(t, err)
	for _, d := range dec {
		assert.Equal(t, orig.Metadata, d.Metadata)
		assert.Equal(t, orig.Data, d.Data)
	}
}

func TestFailureConverterEncodesMessage(t *testing.T) {
	dc := DataConverter(newKeyring(t, spec1))
	fc := FailureConverter(dc)
	f := fc.ErrorToFailure(temporal.NewApplicationError("wallet said "+secret, "WalletError"))
	assert.NotContains(t, f.GetMessage(), secret)
	require.NotNil(t, f.GetEncodedAttributes())
	assert.True(t, IsEncrypted(f.GetEncodedAttributes()))
	assert.False(t, bytes.Contains(f.GetEncodedAttributes().GetData(), []byte(secret)))

	back := fc.FailureToError(f)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(back, &appErr))
	assert.Contains(t, appErr.Error(), secret)
}
