// Package codec encrypts Temporal payloads with the project keyring, so that workflow
// inputs, results, signals and (optionally) failure messages reach Temporal's history only
// as ciphertext, and serves the same codec over HTTP so the Web UI and CLI can show them.
package codec

import (
	"errors"
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
	// lenient passes payloads that were never encrypted through: only the codec server,
	// which shows histories to operators, is lenient.
	lenient bool
}

// ErrPlaintext is a payload that reached a production codec unencrypted: whoever sent it
// does not hold the namespace's payload key, and nothing it says is acted on.
var ErrPlaintext = errors.New("codec: refused a payload that is not encrypted (sent by a client without the namespace's payload key)")

// NewPayloadCodec returns the production codec: it seals each whole payload (metadata and
// data) under the keyring's current key, so that not even the original encoding is visible,
// and refuses to decode a payload that was not sealed (ErrPlaintext). A client of the
// namespace without the key can then neither start an escrow nor have a wallet step run.
func NewPayloadCodec(k *keyring.Keyring) converter.PayloadCodec {
	return payloadCodec{k: k}
}

// newDisplayCodec is the codec server's: it decodes what it can open and passes payloads that
// were never encrypted through, so the Web UI shows them as they are.
func newDisplayCodec(k *keyring.Keyring) converter.PayloadCodec {
	return payloadCodec{k: k, lenient: true}
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

// Decode implements converter.PayloadCodec. A payload that was never encrypted is refused
// (ErrPlaintext), except by the codec server's display codec, which passes it through;
// encrypted ones that do not open are an error, never passed on as ciphertext.
func (c payloadCodec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !IsEncrypted(p) {
			if !c.lenient {
				return nil, fmt.Errorf("decode payload %d: %w", i, ErrPlaintext)
			}
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
