package devstack

import (
	"context"
	"encoding/json"
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
	// monerod relays a transaction within milliseconds on an idle machine.
	chainMinableTimeout  = 30 * time.Second
	chainMinableInterval = 20 * time.Millisecond
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
// (trusted, plain HTTP, a regtest chain's hard forks accepted), so tests can start signer
// and payee wallets next to the funder.
func (c *Chain) WalletRPCOptions(name, dir string) WalletRPCOptions {
	return WalletRPCOptions{
		Name:          name,
		Dir:           dir,
		DaemonAddress: c.Daemon.Address,
		RegtestDaemon: true,
		// monerod runs with --rpc-ssl disabled; autodetect would try TLS first.
		ExtraArgs: []string{"--daemon-ssl", "disabled"},
	}
}

// waitFunded refreshes the funder until it has an unlocked balance.
func (c *Chain) waitFunded(ctx context.Context) error {
	return pollChain(ctx, chainFundedTimeout, chainFundedInterval, func(ctx context.Context) (string, error) {
		const short = "funder has no unlocked balance"
		if _, err := c.FunderClient.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
			return short, err
		}
		bal, err := c.FunderClient.GetBalance(ctx, walletrpc.GetBalanceRequest{})
		if err != nil || bal.UnlockedBalance == 0 {
			return short, err
		}
		return "", nil
	})
}

// pollChain calls check every interval until it reports nothing short (""), or timeout
// passes; the error then says what was short, and the last error.
func pollChain(ctx context.Context, timeout, interval time.Duration, check func(context.Context) (short string, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		short, err := check(ctx)
		if short == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %v)", short, ctx.Err(), err)
		case <-time.After(interval):
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

// Pay sends amount piconero from the funder to address and returns the tx hash once
// monerod will mine it: the next Mine's first block holds it.
func (c *Chain) Pay(ctx context.Context, address string, amount uint64) (txid string, err error) {
	if err := c.refreshFunder(ctx); err != nil {
		return "", err
	}
	if txid, err = c.send(ctx, address, amount); err != nil {
		return "", err
	}
	return txid, c.WaitMinable(ctx, txid)
}

// WaitMinable waits until monerod would put each transaction into its next block. One that
// arrived by RPC (a wallet's transfer or submit_multisig) stays out of block templates until
// its relay has run, which happens after the RPC has answered; a block mined in between
// leaves it in the pool. It returns at once for one already mined.
func (c *Chain) WaitMinable(ctx context.Context, txids ...string) error {
	return pollChain(ctx, chainMinableTimeout, chainMinableInterval, func(ctx context.Context) (string, error) {
		fates, err := c.RPC.TxFates(ctx, txids)
		waiting := txids
		if err == nil {
			waiting = unminable(txids, fates)
		}
		if len(waiting) == 0 {
			return "", nil
		}
		return fmt.Sprintf("monerod would not mine %v yet", waiting), err
	})
}

// CoinbaseLockBlocks is CRYPTONOTE_MINED_MONEY_UNLOCK_WINDOW: a coinbase output's
// unlock_time is its block's height plus this, far beyond the normal 10-block lock.
const CoinbaseLockBlocks = 60

// CoinbasePayment is a payment PayTimeLocked made: one block's coinbase.
type CoinbasePayment struct {
	// TxID is the miner transaction's hash, which the payee's wallet lists it under.
	TxID string
	// Height is the block's height (index); UnlockTime is Height + CoinbaseLockBlocks,
	// read from the block.
	Height, UnlockTime uint64
	// Amount is the block reward, all of it paid to the address.
	Amount uint64
}

// PayTimeLocked mines one block whose coinbase pays address (a standard address, as a
// multisig one is): a payment locked for CoinbaseLockBlocks, the only time-locked payment a
// 0.18.5.3 chain still carries. Since 0.18.3.4 `transfer` refuses a non-zero unlock_time
// (-50) and monerod keeps such transactions out of its pool; a coinbase is locked by
// consensus. The amount is the block reward (plus the fees of whatever the pool held),
// not chosen; the block also mines the pool.
func (c *Chain) PayTimeLocked(ctx context.Context, address string) (CoinbasePayment, error) {
	res, err := c.RPC.GenerateBlocks(ctx, walletrpc.GenerateBlocksRequest{AmountOfBlocks: 1, WalletAddress: address})
	if err != nil {
		return CoinbasePayment{}, fmt.Errorf("pay a coinbase to %s: %w", address, err)
	}
	if len(res.Blocks) != 1 {
		return CoinbasePayment{}, fmt.Errorf("pay a coinbase to %s: generateblocks mined %d blocks, want 1", address, len(res.Blocks))
	}
	var b struct {
		BlockHeader struct {
			Height uint64 `json:"height"`
			Reward uint64 `json:"reward"`
		} `json:"block_header"`
		MinerTxHash string `json:"miner_tx_hash"`
		JSON        string `json:"json"`
		Status      string `json:"status"`
	}
	if err := c.RPC.Call(ctx, "get_block", map[string]string{"hash": res.Blocks[0]}, &b); err != nil {
		return CoinbasePayment{}, fmt.Errorf("pay a coinbase to %s: get_block: %w", address, err)
	}
	var body struct {
		MinerTx struct {
			UnlockTime uint64 `json:"unlock_time"`
		} `json:"miner_tx"`
	}
	if err := json.Unmarshal([]byte(b.JSON), &body); err != nil {
		return CoinbasePayment{}, fmt.Errorf("pay a coinbase to %s: decode block: %w", address, err)
	}
	p := CoinbasePayment{TxID: b.MinerTxHash, Height: b.BlockHeader.Height, UnlockTime: body.MinerTx.UnlockTime, Amount: b.BlockHeader.Reward}
	if p.UnlockTime != p.Height+CoinbaseLockBlocks || p.Amount == 0 {
		return CoinbasePayment{}, fmt.Errorf("pay a coinbase to %s: block %d's coinbase has unlock_time %d and reward %d, want unlock_time %d",
			address, p.Height, p.UnlockTime, p.Amount, p.Height+CoinbaseLockBlocks)
	}
	return p, nil
}

// unminable lists the transactions a block mined now would leave out: unknown, or in the
// pool and not yet relayed.
func unminable(txids []string, fates map[string]walletrpc.TxFate) []string {
	var out []string
	for _, id := range txids {
		if f := fates[id]; !f.Relayed && (!f.Known || f.InPool) {
			out = append(out, id)
		}
	}
	return out
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
		txid, err := c.send(ctx, address, amount)
		if err != nil {
			return txids, fmt.Errorf("payment %d of %d: %w", i+1, len(amounts), err)
		}
		txids = append(txids, txid)
	}
	return txids, c.WaitMinable(ctx, txids...)
}

// refreshFunder makes the funder know its latest outputs, or it may pick spent ones.
func (c *Chain) refreshFunder(ctx context.Context) error {
	if _, err := c.FunderClient.Refresh(ctx, walletrpc.RefreshRequest{}); err != nil {
		return fmt.Errorf("pay: refresh funder: %w", err)
	}
	return nil
}

// send is one transfer from the funder, without a refresh.
func (c *Chain) send(ctx context.Context, address string, amount uint64) (string, error) {
	res, err := c.FunderClient.Transfer(ctx, walletrpc.TransferRequest{
		Destinations: []walletrpc.Destination{{Amount: amount, Address: address}},
	})
	if err != nil {
		return "", fmt.Errorf("pay %d: %w", amount, err)
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
