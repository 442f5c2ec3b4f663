// Package integration holds the end-to-end tests: the real Temporal dev server, real
// monero-wallet-rpc processes and the real worker, with nothing mocked.
package integration
