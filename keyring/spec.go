package keyring

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// EnvKeys is the environment variable FromEnv reads the key spec from.
const EnvKeys = "XMR_ESCROW_KEYS"

// specHelp is appended to every FromEnv error, because whoever sees it is setting up a
// machine and needs the format and a way to make a key, not just "invalid".
const specHelp = `want "id:<64 hex digits>[,id:<64 hex digits>...]" ` +
	`(the first key seals, the others only open, for rotation); ` +
	`generate one with: echo "k1:$(openssl rand -hex 32)"`

// Parse reads "k2:<64 hex>,k1:<64 hex>": the first entry is the current key, the others
// only decrypt. Errors name the entry and the key id but never echo key material.
func Parse(spec string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("keyring: empty key spec: %w", ErrMalformed)
	}
	var current string
	keys := make(map[string][]byte)
	for i, entry := range strings.Split(spec, ",") {
		n := i + 1
		id, hexKey, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok {
			return nil, fmt.Errorf("keyring: key spec entry %d has no \"id:\" prefix: %w", n, ErrMalformed)
		}
		id, hexKey = strings.TrimSpace(id), strings.TrimSpace(hexKey)
		if !ValidID(id) {
			return nil, fmt.Errorf("keyring: key spec entry %d: id must match %s: %w", n, idPattern, ErrMalformed)
		}
		if _, dup := keys[id]; dup {
			return nil, fmt.Errorf("keyring: key spec entry %d: duplicate key id %s: %w", n, id, ErrMalformed)
		}
		key, err := hex.DecodeString(hexKey)
		if err != nil {
			// hex's own error quotes the offending character, which is part of a key.
			return nil, fmt.Errorf("keyring: key %s is not hex: %w", id, ErrMalformed)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("keyring: key %s has %d bytes, need %d: %w", id, len(key), KeySize, ErrMalformed)
		}
		if current == "" {
			current = id
		}
		keys[id] = key
	}
	k, err := New(current, keys)
	for _, key := range keys {
		clear(key)
	}
	return k, err
}

// FromEnv parses $XMR_ESCROW_KEYS (see Parse). Its errors explain the format and how to
// generate a key, since a missing variable is the usual first-run mistake.
func FromEnv() (*Keyring, error) {
	spec, ok := os.LookupEnv(EnvKeys)
	if !ok || strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("$%s is not set; %s: %w", EnvKeys, specHelp, ErrMalformed)
	}
	k, err := Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("$%s: %w; %s", EnvKeys, err, specHelp)
	}
	return k, nil
}

// Generate makes a keyring with one fresh random key and returns its spec, so that local
// runs and tests can hand the same key to several processes via EnvKeys.
func Generate(id string) (*Keyring, string, error) {
	if !ValidID(id) {
		return nil, "", fmt.Errorf("keyring: id must match %s: %w", idPattern, ErrMalformed)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, "", fmt.Errorf("keyring: generate key %s: %w", id, err)
	}
	spec := id + ":" + hex.EncodeToString(key)
	k, err := New(id, map[string][]byte{id: key})
	clear(key)
	if err != nil {
		return nil, "", fmt.Errorf("keyring: generate key %s: %w", id, err)
	}
	return k, spec, nil
}
