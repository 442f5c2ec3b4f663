package deploy

import "strconv"

// MonerodRPCConnections is how many RPC connections the monerod we ship and test takes, in
// all and from one private IP (loopback included). monerod's own defaults (100 in all, 25 from
// a private IP, 3 from a public one) are below what one worker host holds: every wallet-rpc
// with an open wallet keeps a connection, and two while it makes or opens one. A connection
// monerod turns away is not a loud failure: a wallet made in that moment guesses its scan
// start from the clock, past a regtest chain's top, and never sees the buyer's payment
// (docs/operations.md, "monerod's connection limits").
const MonerodRPCConnections = 1000

// MonerodConnectionArgs are monerod's flags for n RPC connections, in all and per private IP.
func MonerodConnectionArgs(n int) []string {
	s := strconv.Itoa(n)
	return []string{"--rpc-max-connections", s, "--rpc-max-connections-per-private-ip", s}
}
