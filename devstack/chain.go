package devstack

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// Chain timings and sizes. Regtest mines ~10 blocks a second on an idle 2-core
// machine, several times slower under load; batches keep each generateblocks call
// far inside its deadline.
const (
	// MineBatch is how many blocks one generateblocks call mines.
	MineBatch = 50
	// MinFundedBlocks is the fewest blocks StartChain accepts: the first coinbase
	// unlocks after 60 blocks.
	MinFundedBlocks = 61
	// SpendableBlocks is the chain height advised before any transfer: ring-member
	// selection needs more than 200 outputs, and the funder's coinbases provide them.
	SpendableBlocks = 300
	// FunderWallet is the funder's wallet file name.
	FunderWallet = "funder"

	chainCallTimeout    = 3 * time.Minute
	chainFundedTimeout  = 3 * time.Minute
	chainFundedInterval = 500 * time.Millisecond
)

// Chain is a regtest chain with a funded wallet, for the money tests.
type Chain struct {
	// Daemon is the regtest monerod.
	Daemon *Monerod
	// RPC is a client for the daemon's JSON-RPC.
	RPC *walletrpc.Daemon
	// Funder is a wallet-rpc with --daemon-address, its wallet FunderWallet open.
	Funder *WalletRPC
	// FunderClient is a client for Funder.
	FunderClient *walletrpc.Client
	// FunderAddress is the funder wallet's primary address; mined coins go there.
	FunderAddress string
}

// StartChain starts monerod in dir/monerod and a wallet-rpc connected to it in
// dir/funder, creates the funder wallet, mines blocks (>= SpendableBlocks advised)
// to it, and returns once the funder has an unlocked balance. On failure it stops
// whatever it started.
func StartChain(ctx context.Context, dir string, blocks uint64) (_ *Chain, err error) {
	if blocks < MinFundedBlocks {
		return nil, fmt.Errorf("start chain: %d blocks leave no coinbase unlocked; mine at least %d (%d before transfers)",
			blocks, MinFundedBlocks, SpendableBlocks)
	}
	c := &Chain{}
	defer func() {
		if err != nil {
			_ = c.Stop()
		}
	}()
	if c.Daemon, err = StartMonerod(ctx, MonerodOptions{Dir: filepath.Join(dir, "monerod")}); err != nil {
		return nil, fmt.Errorf("start chain: %w", err)
	}
	c.RPC = walletrpc.NewDaemon(walletrpc.Config{URL: c.Daemon.URL, Timeout: chainCallTimeout})
	if c.Funder, err = StartWalletRPC(ctx, c.WalletRPCOptions("funder", filepath.Join(dir, "funder"))); err != nil {
		return nil, fmt.Errorf("start chain: %w", err)
	}
	c.FunderClient = walletrpc.New(walletrpc.Config{URL: c.Funder.URL, Timeout: chainCallTimeout})
	if err := c.FunderClient.CreateWallet(ctx, walletrpc.CreateWalletRequest{Filename: FunderWallet}); err != nil {
		return nil, fmt.Errorf("start chain: create funder wallet: %w", err)
	}
	addr, err := c.FunderClient.GetAddress(ctx, walletrpc.GetAddressRequest{})
	if err != nil {
		return nil, fmt.Errorf("start chain: funder address: %w", err)
	}
	c.FunderAddress = addr.Address
	if err := c.Mine(ctx, blocks); err != nil {
		return nil, fmt.Errorf("start chain: %w", err)
	}
	if err := c.waitFunded(ctx); err != nil {
		return nil, fmt.Errorf("start chain: %w", err)
	}
	return c, nil
}

// WalletRPCOptions returns options for a wallet-rpc that uses this chain's daemon
// (trusted, plain HTTP), so tests can start signer and payee wallets next to the funder.
func (c *Chain) WalletRPCOptions(name, dir string) WalletRPCOptions {
	return WalletRPCOptions{
		Name:          name,
		Dir:           dir,
		DaemonAddress: c.Daemon.Address,
		// monerod runs with --rpc-ssl disabled; autodetect would try TLS first.
		ExtraArgs: []string{"--daemon-ssl", "disabled"},
	}
}

// waitFunded refreshes the funder until it has an unlocked balance.
func (c *Chain) waitFunded(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, chainFundedTimeout)
	defer cancel()
	for {
		_, err := c.FunderClient.Refresh(ctx, walletrpc.RefreshRequest{})
		if err == nil {
			var bal walletrpc.GetBalanceResult
			if bal, err = c.FunderClient.GetBalance(ctx, walletrpc.GetBalanceRequest{}); err == nil && bal.UnlockedBalance > 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("funder has no unlocked balance: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(chainFundedInterval):
		}
	}
}

// Mine mines n blocks to the funder address, MineBatch at a time. Incoming
// transfers confirm with the first block and unlock after 10.
func (c *Chain) Mine(ctx context.Context, n uint64) error {
	for n > 0 {
		batch := min(n, MineBatch)
		if _, err := c.RPC.GenerateBlocks(ctx, walletrpc.GenerateBlocksRequest{
			AmountOfBlocks: batch, WalletAddress: c.FunderAddress,
		}); err != nil {
			return fmt.Errorf("mine %d blocks: %w", batch, err)
		}
		n -= batch
	}
	return nil
}

// Height returns the daemon's block count.
func (c *Chain) Height(ctx context.Context) (uint64, error) {
	info, err := c.RPC.GetInfo(ctx)
	return info.Height, err
}

// Pay sends amount piconero from the funder to address and returns the tx hash; the
// transfer is in the pool until the next Mine.
func (c *Chain) Pay(ctx context.Context, address string, amount uint64) (txid string, err error) {
	return c.PayLocked(ctx, address, amount, 0)
}

// PayLocked is Pay with the transfer's unlock_time set (a block height below 500,000,000,
// a Unix time above; 0 is a normal payment), so tests can send the time-locked payments an
// escrow must never count as funding.
func (c *Chain) PayLocked(ctx context.Context, address string, amount, unlockTime uint64) (txid string, err error) {
	if err := c.refreshFunder(ctx); err != nil {
		return "", err
	}
	return c.send(ctx, address, amount, unlockTime)
}

// PayEach sends each amount to address as its own transaction (a dust attack's many small
// payments) and returns their hashes in order. The funder is refreshed once: wallet2 marks
// what each transfer spent, so the next one picks other outputs.
func (c *Chain) PayEach(ctx context.Context, address string, amounts []uint64) ([]string, error) {
	if err := c.refreshFunder(ctx); err != nil {
		return nil, err
	}
	txids := make([]string, 0, len(amounts))
	for i, amount := range amounts {
		txid, err := c.send(ctx, address, amount, 0)
		if err != nil {
			return txids, fmt.Errorf("payment %d of %d: %w", i+1, len(amounts), err)
		}
		txids = append(txids, txid)
	}
	return txids, nil
}

// refreshFunder makes the funder know its latest outputs, or it may pick spent ones.
func (c *Chain) refreshFunder(ctx context.Context) error {
	if _, err := c.FunderClient.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
		return fmt.Errorf("pay: refresh funder: %w", err)
	}
	return nil
}

// send is one transfer from the funder, without a refresh.
func (c *Chain) send(ctx context.Context, address string, amount, unlockTime uint64) (string, error) {
	res, err := c.FunderClient.Transfer(ctx, walletrpc.TransferRequest{
		Destinations: []walletrpc.Destination{{Amount: amount, Address: address}},
		UnlockTime:   unlockTime,
	})
	if err != nil {
		return "", fmt.Errorf("pay %d (unlock_time %d): %w", amount, unlockTime, err)
	}
	return res.TxHash, nil
}

// Stop stops the funder's wallet-rpc, then monerod; it is safe on a partly started chain.
func (c *Chain) Stop() error {
	var errs []error
	if c.Funder != nil {
		errs = append(errs, c.Funder.Stop())
	}
	if c.Daemon != nil {
		errs = append(errs, c.Daemon.Stop())
	}
	return errors.Join(errs...)
}
