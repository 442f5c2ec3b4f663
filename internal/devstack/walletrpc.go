package devstack

import (
	"context"

	"github.com/xmr-escrow/xmr-escrow/internal/walletproc"
)

// The process, port and wallet-rpc code lives in internal/walletproc, shared
// with the production worker's supervisor; these names keep devstack's API for
// the harness's users. The types are aliases, so values pass between the two
// packages as they are.

// WalletRPCOptions configures one monero-wallet-rpc instance.
type WalletRPCOptions = walletproc.Options

// WalletRPC is a running monero-wallet-rpc.
type WalletRPC = walletproc.WalletRPC

// Process is a child process we own, in its own process group and killed with us.
type Process = walletproc.Process

// StartWalletRPC runs monero-wallet-rpc on 127.0.0.1 and waits until it
// answers; see walletproc.Start.
func StartWalletRPC(ctx context.Context, opts WalletRPCOptions) (*WalletRPC, error) {
	return walletproc.Start(ctx, opts)
}

// StartWalletRPCs starts n instances named rpc-1..rpc-n in parallel, each in
// baseDir/rpc-i; see walletproc.StartN.
func StartWalletRPCs(ctx context.Context, n int, baseDir string, opts WalletRPCOptions) ([]*WalletRPC, error) {
	return walletproc.StartN(ctx, n, baseDir, opts)
}

// StopWalletRPCs stops every non-nil instance in parallel and joins their errors.
func StopWalletRPCs(rpcs []*WalletRPC) error { return walletproc.StopAll(rpcs) }

// StartProcess starts bin with args in its own process group, appending its
// output to logPath; see walletproc.StartProcess.
func StartProcess(ctx context.Context, name string, bin string, args []string, logPath string) (*Process, error) {
	return walletproc.StartProcess(ctx, name, bin, args, logPath)
}

// FreePort returns a loopback TCP port that no other process using FreePort
// has been given; see walletproc.FreePort.
func FreePort() (int, error) { return walletproc.FreePort() }

// WalletRPCBinary finds monero-wallet-rpc ($XMR_ESCROW_WALLET_RPC_BIN, then the monero
// 0.18.5.3 that `make tools` installs (walletproc.MoneroBinDir), then PATH).
func WalletRPCBinary() (string, error) { return walletproc.Binary() }
