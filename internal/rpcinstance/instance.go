package rpcinstance

import "errors"

// Instance is one monero-wallet-rpc a worker serves. Its wallet dir must be on this host:
// round snapshots are file copies next to the wallet.
type Instance struct {
	// Name is the instance's ID, which its wallet dir records (identity.go); it names the
	// task queue, so it must be unique across hosts.
	Name      string `json:"name"`
	URL       string `json:"url"`
	WalletDir string `json:"wallet_dir"`
	// Username and Password are the --rpc-login credentials, if any.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

// PoolStats is one host's wallet-rpc pool against its budget.
type PoolStats struct {
	// Instances is the pool's size now; MaxInstances is how far it may grow.
	Instances, MaxInstances int
	// MemoryBytes is the processes' resident memory; MemoryBudgetBytes bounds growth (0: none).
	MemoryBytes, MemoryBudgetBytes int64
}

// ErrNoGrowth is a Grow that may add no instance (the pool is at its budget).
var ErrNoGrowth = errors.New("worker: the wallet-rpc pool may not grow")

// KeyCacheOf says whether the wallet-rpc key cache (internal/walletproc, docs/design.md "The
// key cache") is preloaded into the named instance's process. started is false for an
// instance this worker did not start (given with --wallet-rpc): it cannot know. The
// supervisor's KeyCache method is one.
type KeyCacheOf func(instance string) (preloaded, started bool)
