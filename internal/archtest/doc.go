// Package archtest holds the tests that keep the repository's shape: the top-level folders the
// design names, the layers the README draws, and a light marketplace client. It has no code.
package archtest
