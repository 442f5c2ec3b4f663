// Package moneroaddr parses and validates Monero addresses entirely in Go,
// deterministically and without I/O, so that it can run inside Temporal
// workflow code (update validators) where no wallet RPC may be called.
//
// An address is the Monero base58 encoding (see base58.go) of
//
//	varint(network prefix) || public spend key (32) || public view key (32)
//	    [|| payment ID (8), integrated addresses only] || checksum (4)
//
// where the checksum is the first 4 bytes of the legacy Keccak-256 of
// everything before it. Standard and subaddresses are 95 characters long,
// integrated addresses 106. As in Monero itself, both public keys must be
// valid ed25519 points.
package moneroaddr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/sha3"
)

// Network is a Monero network.
type Network string

// Networks. A regtest node uses mainnet address prefixes, so Parse never
// returns Regtest; Valid accepts it as a synonym for Mainnet.
const (
	Mainnet  Network = "mainnet"
	Testnet  Network = "testnet"
	Stagenet Network = "stagenet"
	Regtest  Network = "regtest"
)

// Kind is the type of address.
type Kind string

// Address kinds.
const (
	Standard   Kind = "standard"
	Integrated Kind = "integrated"
	Subaddress Kind = "subaddress"
)

// Address is a decoded Monero address.
type Address struct {
	Network        Network
	Kind           Kind
	PublicSpendKey [32]byte
	PublicViewKey  [32]byte
	// PaymentID is the 8-byte payment ID of an integrated address; nil for
	// the other kinds.
	PaymentID []byte
}

// ErrInvalid is wrapped by every error that says an address is not valid.
// The more specific errors below are wrapped alongside it, so
// errors.Is(err, ErrInvalid) holds for all of them.
var ErrInvalid = errors.New("invalid monero address")

// Reasons an address is invalid; each error returned also wraps ErrInvalid.
var (
	ErrEmpty    = errors.New("empty")
	ErrLength   = errors.New("wrong length")
	ErrAlphabet = errors.New("character not in the base58 alphabet")
	ErrEncoding = errors.New("base58 block out of range")
	ErrChecksum = errors.New("checksum mismatch")
	ErrPrefix   = errors.New("unknown network prefix")
	ErrKey      = errors.New("public key is not a valid ed25519 point")
	ErrNetwork  = errors.New("wrong network")
)

// ErrUnknownNetwork is returned by Valid and Encode for a Network or Kind
// value that is not one of the constants above. It is a caller error and
// does not wrap ErrInvalid.
var ErrUnknownNetwork = errors.New("moneroaddr: unknown network or kind")

const (
	keySize       = 32
	paymentIDSize = 8
	checksumSize  = 4

	// Character lengths of the encoded forms.
	StandardLen   = 95  // standard address and subaddress
	IntegratedLen = 106 // integrated address
)

type netKind struct {
	network Network
	kind    Kind
}

var prefixes = map[uint64]netKind{
	18: {Mainnet, Standard},
	19: {Mainnet, Integrated},
	42: {Mainnet, Subaddress},
	53: {Testnet, Standard},
	54: {Testnet, Integrated},
	63: {Testnet, Subaddress},
	24: {Stagenet, Standard},
	25: {Stagenet, Integrated},
	36: {Stagenet, Subaddress},
}

var prefixOf = func() map[netKind]uint64 {
	m := make(map[netKind]uint64, len(prefixes))
	for p, nk := range prefixes {
		m[nk] = p
	}
	return m
}()

// invalid builds an error wrapping ErrInvalid and reason, quoting at most
// the first 8 characters of the input.
func invalid(s string, reason error, format string, args ...any) error {
	detail := ""
	if format != "" {
		detail = " (" + fmt.Sprintf(format, args...) + ")"
	}
	return fmt.Errorf("%w %s: %w%s", ErrInvalid, head(s), reason, detail)
}

// head returns the input's first 8 characters, quoted, with an ellipsis if
// anything was cut off.
func head(s string) string {
	const maxRunes = 8
	i := 0
	for n := 0; n < maxRunes && i < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	if i < len(s) {
		return fmt.Sprintf("%q…", s[:i])
	}
	return fmt.Sprintf("%q", s)
}

// Parse decodes and fully validates a Monero address of any network: length,
// alphabet, base58 blocks, checksum, prefix, the length matching the kind,
// and both public keys being valid curve points. Errors wrap ErrInvalid and
// one of the specific reasons above.
func Parse(s string) (Address, error) {
	if s == "" {
		return Address{}, invalid(s, ErrEmpty, "")
	}
	if len(s) != StandardLen && len(s) != IntegratedLen {
		return Address{}, invalid(s, ErrLength, "%d characters, want %d or %d", len(s), StandardLen, IntegratedLen)
	}
	data, derr := base58Decode(s)
	if derr != nil {
		switch derr.kind {
		case ErrAlphabet:
			return Address{}, invalid(s, ErrAlphabet, "at character %d; 0, O, I and l are not used", derr.pos+1)
		default:
			return Address{}, invalid(s, derr.kind, "in the block starting at character %d", derr.pos+1)
		}
	}

	body, sum := data[:len(data)-checksumSize], data[len(data)-checksumSize:]
	if !bytes.Equal(checksum(body), sum) {
		return Address{}, invalid(s, ErrChecksum, "")
	}

	prefix, n := binary.Uvarint(body)
	if n <= 0 || n != uvarintLen(prefix) {
		return Address{}, invalid(s, ErrPrefix, "malformed varint")
	}
	nk, ok := prefixes[prefix]
	if !ok {
		return Address{}, invalid(s, ErrPrefix, "%d", prefix)
	}
	body = body[n:]

	want := 2 * keySize
	if nk.kind == Integrated {
		want += paymentIDSize
	}
	if len(body) != want {
		return Address{}, invalid(s, ErrLength, "%d-byte payload for a %s %s address, want %d", len(body), nk.network, nk.kind, want)
	}

	a := Address{Network: nk.network, Kind: nk.kind}
	copy(a.PublicSpendKey[:], body[:keySize])
	copy(a.PublicViewKey[:], body[keySize:2*keySize])
	if nk.kind == Integrated {
		a.PaymentID = bytes.Clone(body[2*keySize:])
	}
	if !validPoint(a.PublicSpendKey) {
		return Address{}, invalid(s, ErrKey, "spend key")
	}
	if !validPoint(a.PublicViewKey) {
		return Address{}, invalid(s, ErrKey, "view key")
	}
	return a, nil
}

// Valid returns nil if s is a valid address (of any kind) on network.
// Regtest is treated as Mainnet, whose prefixes regtest uses. An address of
// another network yields an error wrapping ErrInvalid and ErrNetwork.
func Valid(s string, network Network) error {
	want := network
	if want == Regtest {
		want = Mainnet
	}
	switch want {
	case Mainnet, Testnet, Stagenet:
	default:
		return fmt.Errorf("%w %q", ErrUnknownNetwork, network)
	}
	a, err := Parse(s)
	if err != nil {
		return err
	}
	if a.Network != want {
		return invalid(s, ErrNetwork, "%s address, want %s", a.Network, network)
	}
	return nil
}

// Encode returns the string form of a. It fails if the network or kind is
// unknown, the payment ID is not 8 bytes for an integrated address or not
// empty otherwise, or a key is not a valid curve point; so whatever Encode
// returns, Parse accepts, and Encode(Parse(s)) == s for every s Parse
// accepts.
func Encode(a Address) (string, error) {
	prefix, ok := prefixOf[netKind{a.Network, a.Kind}]
	if !ok {
		return "", fmt.Errorf("%w: %q/%q", ErrUnknownNetwork, a.Network, a.Kind)
	}
	switch {
	case a.Kind == Integrated && len(a.PaymentID) != paymentIDSize:
		return "", fmt.Errorf("moneroaddr: integrated address needs an %d-byte payment ID, got %d bytes", paymentIDSize, len(a.PaymentID))
	case a.Kind != Integrated && len(a.PaymentID) != 0:
		return "", fmt.Errorf("moneroaddr: a %s address has no payment ID", a.Kind)
	}
	if !validPoint(a.PublicSpendKey) || !validPoint(a.PublicViewKey) {
		return "", fmt.Errorf("moneroaddr: %w", ErrKey)
	}
	return encodeRaw(prefix, a.PublicSpendKey[:], a.PublicViewKey[:], a.PaymentID), nil
}

// encodeRaw serialises and checksums the fields without validating them.
func encodeRaw(prefix uint64, parts ...[]byte) string {
	data := binary.AppendUvarint(nil, prefix)
	for _, p := range parts {
		data = append(data, p...)
	}
	data = append(data, checksum(data)...)
	return base58Encode(data)
}

func checksum(data []byte) []byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(data)
	return h.Sum(nil)[:checksumSize]
}

// uvarintLen is the length of the canonical (shortest) varint encoding of v;
// comparing it with the bytes consumed rejects padded encodings.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
