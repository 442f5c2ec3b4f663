// Package keyring seals and opens small secrets with AES-256-GCM under named keys, so that
// keys can be rotated without losing what older keys sealed.
//
// Sealed format, version 1:
//
//	0x01 | len(id) (1 byte) | id | nonce (12 bytes) | GCM ciphertext and 16-byte tag
//
// The header (version, length and id) is authenticated together with the caller's additional
// data: the GCM additional data is header || aad. Swapping the id therefore cannot make a
// ciphertext open under another key, and the header is self-delimiting, so header || aad
// cannot be re-split into a different (header, aad) pair.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

const (
	// KeySize is the length of every key in bytes (AES-256).
	KeySize = 32
	// NonceSize is the GCM nonce length; 96 bits is the size GCM is specified for.
	NonceSize = 12

	version1 byte = 0x01
	tagSize  int  = 16
	maxIDLen int  = 32
)

var (
	// ErrUnknownKey means the sealed data names a key this keyring does not hold.
	ErrUnknownKey = errors.New("keyring: unknown key id")
	// ErrDecrypt means authentication failed: tampered data, wrong key or wrong aad.
	ErrDecrypt = errors.New("keyring: decryption failed")
	// ErrMalformed means the input (a sealed blob or a key spec) is not well-formed.
	ErrMalformed = errors.New("keyring: malformed input")
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Keyring seals with its current key and opens with any of its keys.
// It is immutable after construction and safe for concurrent use.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// New builds a keyring from raw 32-byte keys; currentID must be one of them.
// The key bytes are not retained: only the derived ciphers are kept.
func New(currentID string, keys map[string][]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("keyring: no keys: %w", ErrMalformed)
	}
	k := &Keyring{current: currentID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, key := range keys {
		if !ValidID(id) {
			return nil, fmt.Errorf("keyring: key id is not %s: %w", idPattern, ErrMalformed)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("keyring: key %s has %d bytes, need %d: %w", id, len(key), KeySize, ErrMalformed)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %s: aes: %w", id, err)
		}
		aead, err := cipher.NewGCMWithNonceSize(block, NonceSize)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %s: gcm: %w", id, err)
		}
		k.aeads[id] = aead
	}
	if _, ok := k.aeads[currentID]; !ok {
		if !ValidID(currentID) {
			return nil, fmt.Errorf("keyring: current key id is not %s: %w", idPattern, ErrMalformed)
		}
		return nil, fmt.Errorf("keyring: current key %s is not among the keys: %w", currentID, ErrUnknownKey)
	}
	return k, nil
}

// ValidID reports whether id may name a key (^[A-Za-z0-9_-]{1,32}$).
func ValidID(id string) bool { return idPattern.MatchString(id) }

// CurrentID names the key new data is sealed with.
func (k *Keyring) CurrentID() string { return k.current }

// IDs lists every key id, sorted, so operators can see which keys a process holds.
func (k *Keyring) IDs() []string {
	ids := make([]string, 0, len(k.aeads))
	for id := range k.aeads {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// String describes the keyring by key ids only, so that printing it can never leak key
// material (the ciphers hold expanded keys).
func (k *Keyring) String() string {
	if k == nil {
		return "keyring(nil)"
	}
	return fmt.Sprintf("keyring(current=%s, ids=%s)", k.current, strings.Join(k.IDs(), ","))
}

// GoString is String, so that %#v does not dump the ciphers either.
func (k *Keyring) GoString() string { return k.String() }

// Seal encrypts plaintext under the current key with a fresh random nonce. aad is
// authenticated but not stored: Open must be given the same aad.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	aead := k.aeads[k.current]
	hdr := header(k.current)
	out := make([]byte, len(hdr)+NonceSize, len(hdr)+NonceSize+len(plaintext)+aead.Overhead())
	copy(out, hdr)
	nonce := out[len(hdr):]
	// Random nonces are safe up to ~2^32 seals per key; rotation keeps far below that.
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keyring: read nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, additionalData(hdr, aad)), nil
}

// Open authenticates and decrypts data made by Seal under any key of this keyring.
// It never returns unauthenticated bytes: failures are ErrMalformed, ErrUnknownKey or
// ErrDecrypt.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 2 {
		return nil, fmt.Errorf("keyring: sealed data too short: %w", ErrMalformed)
	}
	if sealed[0] != version1 {
		return nil, fmt.Errorf("keyring: sealed data version %d not supported: %w", sealed[0], ErrMalformed)
	}
	idLen := int(sealed[1])
	if idLen < 1 || idLen > maxIDLen {
		return nil, fmt.Errorf("keyring: sealed key id length %d out of range: %w", idLen, ErrMalformed)
	}
	hdrLen := 2 + idLen
	if len(sealed) < hdrLen+NonceSize+tagSize {
		return nil, fmt.Errorf("keyring: sealed data too short: %w", ErrMalformed)
	}
	id := string(sealed[2:hdrLen])
	if !ValidID(id) {
		// Checked before use so that an error never echoes arbitrary bytes.
		return nil, fmt.Errorf("keyring: sealed key id is not %s: %w", idPattern, ErrMalformed)
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("keyring: data sealed under key %s, have %s: %w",
			id, strings.Join(k.IDs(), ","), ErrUnknownKey)
	}
	nonce := sealed[hdrLen : hdrLen+NonceSize]
	plaintext, err := aead.Open(nil, nonce, sealed[hdrLen+NonceSize:], additionalData(sealed[:hdrLen], aad))
	if err != nil {
		return nil, fmt.Errorf("keyring: open with key %s: %w", id, ErrDecrypt)
	}
	return plaintext, nil
}

func header(id string) []byte {
	h := make([]byte, 0, 2+len(id))
	h = append(h, version1, byte(len(id)))
	return append(h, id...)
}

func additionalData(hdr, aad []byte) []byte {
	ad := make([]byte, 0, len(hdr)+len(aad))
	return append(append(ad, hdr...), aad...)
}
