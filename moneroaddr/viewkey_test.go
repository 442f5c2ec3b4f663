package moneroaddr

import (
	"encoding/hex"
	"testing"
)

// A fresh wallet made by monero-wallet-rpc v0.18.0.0 (create_wallet, then get_address and
// query_key {"key_type":"view_key"}): a throw-away key of no value.
const (
	vectorAddress = "49q8LzHbx1HNHKjrKKVqfs42tj7TkrBfPj4PVDsG8E9xHJtjaYSXbzA7VvK6K4G5PDg6UxBNVFQSkQ9KJT8RdHf5Kxjkcw3"
	vectorViewKey = "d13d3e9fd25534c549c970a5d6f260e82953ee4f12093a8d7b7cffd83b2abd0f"
)

func TestMatchesViewKey(t *testing.T) {
	a, err := Parse(vectorAddress)
	if err != nil {
		t.Fatal(err)
	}
	var key [32]byte
	if _, err := hex.Decode(key[:], []byte(vectorViewKey)); err != nil {
		t.Fatal(err)
	}
	if !a.MatchesViewKey(key) {
		t.Fatal("the wallet's own view key does not match its address")
	}
	other := key
	other[0] ^= 1
	if a.MatchesViewKey(other) {
		t.Error("a different key matches")
	}
	var zero [32]byte
	if a.MatchesViewKey(zero) {
		t.Error("the zero key matches")
	}
	// A non-canonical scalar (>= the group order) is refused even if it reduces to the key.
	var big [32]byte
	for i := range big {
		big[i] = 0xff
	}
	if a.MatchesViewKey(big) {
		t.Error("a non-canonical scalar matches")
	}
}
