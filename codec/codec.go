// Package codec encrypts Temporal payloads with the project keyring, so that workflow
// inputs, results, signals and (optionally) failure messages reach Temporal's history only
// as ciphertext, and serves the same codec over HTTP so the Web UI and CLI can show them.
package codec

import (
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/xmr-escrow/xmr-escrow/keyring"
)

const (
	// MetadataEncoding is the metadata "encoding" of an encrypted payload.
	MetadataEncoding = "binary/encrypted"
	// MetadataKeyID names the key that sealed a payload; informational only, the sealed
	// header carries the authenticated copy.
	MetadataKeyID = "encryption-key-id"
)

// payloadAAD binds ciphertexts to their use: a blob sealed for another purpose with the
// same key (e.g. a database column) does not open as a payload.
var payloadAAD = []byte("temporal-payload")

type payloadCodec struct {
	k *keyring.Keyring
}

// NewPayloadCodec returns a codec that seals each whole payload (metadata and data) under
// the keyring's current key, so that not even the original encoding is visible.
func NewPayloadCodec(k *keyring.Keyring) converter.PayloadCodec {
	return payloadCodec{k: k}
}

// Encode implements converter.PayloadCodec.
func (c payloadCodec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: encode payload %d: marshal: %w", i, err)
		}
		sealed, err := c.k.Seal(plain, payloadAAD)
		clear(plain)
		if err != nil {
			return nil, fmt.Errorf("codec: encode payload %d: %w", i, err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(MetadataEncoding),
				MetadataKeyID:              []byte(c.k.CurrentID()),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// Decode implements converter.PayloadCodec. Payloads that were never encrypted (written
// before encryption was enabled, or by another codec) pass through unchanged; encrypted
// ones that do not open are an error, never passed on as ciphertext.
func (c payloadCodec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !IsEncrypted(p) {
			out[i] = p
			continue
		}
		plain, err := c.k.Open(p.GetData(), payloadAAD)
		if err != nil {
			return nil, fmt.Errorf("codec: decode payload %d: %w", i, err)
		}
		var orig commonpb.Payload
		err = proto.Unmarshal(plain, &orig)
		clear(plain)
		if err != nil {
			// The proto error is generic, but the bytes it parsed are plaintext: do not
			// add anything from them here.
			return nil, fmt.Errorf("codec: decode payload %d: decrypted bytes are not a payload", i)
		}
		out[i] = &orig
	}
	return out, nil
}

// IsEncrypted reports whether p carries this codec's encoding.
func IsEncrypted(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[converter.MetadataEncoding]) == MetadataEncoding
}

// DataConverter is the SDK's default converter with every payload encrypted; give it to
// client.Options.DataConverter in every process that talks to Temporal.
func DataConverter(k *keyring.Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewPayloadCodec(k))
}

// FailureConverter moves failure messages and stack traces into an encoded payload, since
// a wallet-rpc error message may quote what it was given.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}
