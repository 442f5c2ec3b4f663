package moneroaddr

import (
	"crypto/subtle"

	"filippo.io/edwards25519"
)

// MatchesViewKey reports whether priv is the private view key of a: a canonical scalar (as
// wallet-rpc's query_key returns it, little-endian) whose public key priv·G is a's public
// view key. A watcher holding a key that fails this would never see a's payments, so it is
// worth refusing before it is stored. The scalar multiplication runs in constant time.
func (a Address) MatchesViewKey(priv [32]byte) bool {
	s, err := edwards25519.NewScalar().SetCanonicalBytes(priv[:])
	if err != nil {
		return false
	}
	pub := new(edwards25519.Point).ScalarBaseMult(s)
	return subtle.ConstantTimeCompare(pub.Bytes(), a.PublicViewKey[:]) == 1
}
