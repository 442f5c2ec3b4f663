// Package archtest holds the tests that keep the repository's shape: the top-level folders the
// design names, the layers the README draws, and the public contract (testdata/api.txt). It
// has no code.
package archtest
