// Package rpcinstance is one monero-wallet-rpc instance as a worker host knows it: its name,
// address and wallet dir (Instance), the lock that makes its worker the one owner of that dir
// (Ownership, AwaitOwnership), the ID the dir records (Identity), and its pool's size against
// its budget (PoolStats). It sits below both the worker and the supervisor that starts the
// instances, so neither has to import the other for them.
package rpcinstance
