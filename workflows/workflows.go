// Package workflows holds the escrow workflow: the 2-of-3 multisig setup across three
// wallet-rpc instances, with its phases exposed by query and search attributes.
package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// DefaultPurgeDelay is the wait between key-exchange rounds when an escrow names none; the
// predecessor slept this long to let wallet caches settle.
const DefaultPurgeDelay = 10 * time.Second

// EscrowInput starts one escrow. Add fields, never change them: running workflows decode it.
type EscrowInput struct {
	EscrowID string `json:"escrow_id"`
	// OrderID is the marketplace's order this escrow protects.
	OrderID string `json:"order_id"`
	// BuyerID, VendorID and ArbiterID are the marketplace's user IDs of the key holders.
	BuyerID   string `json:"buyer_id"`
	VendorID  string `json:"vendor_id"`
	ArbiterID string `json:"arbiter_id"`
	// AmountAtomic is the price in atomic units (piconero, 1 XMR = 1e12).
	AmountAtomic int64 `json:"amount_atomic"`
	// PurgeDelay is the durable wait between rounds; nil means DefaultPurgeDelay, 0 none.
	PurgeDelay *time.Duration `json:"purge_delay,omitempty"`
	// Assignment pins roles to wallet-rpc instances (for example a participant's own);
	// empty means the worker's pool decides.
	Assignment escrow.Assignment `json:"assignment,omitempty"`
}

// EscrowResult is what a finished setup returns.
type EscrowResult struct {
	EscrowID   string            `json:"escrow_id"`
	Address    string            `json:"address"`
	Assignment escrow.Assignment `json:"assignment"`
	// WalletOpens counts the open_wallet calls the setup needed (each costs 1–3.5 CPU-s).
	WalletOpens int `json:"wallet_opens"`
	// Retries counts rounds that were rerun from a snapshot.
	Restores int `json:"restores"`
}

// Validate checks an input before anything is started; the starter and the workflow both
// call it, so a bad escrow is refused at the door and never half-runs.
func (in EscrowInput) Validate() error {
	if err := escrow.ValidateID(in.EscrowID); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{
		{"order_id", in.OrderID}, {"buyer_id", in.BuyerID}, {"vendor_id", in.VendorID}, {"arbiter_id", in.ArbiterID},
	} {
		if f.v == "" || len(f.v) > 200 {
			return fmt.Errorf("%w: %s must be 1-200 characters", ErrInvalidInput, f.name)
		}
	}
	if in.AmountAtomic <= 0 {
		return fmt.Errorf("%w: amount_atomic must be positive, got %d", ErrInvalidInput, in.AmountAtomic)
	}
	if in.PurgeDelay != nil && *in.PurgeDelay < 0 {
		return fmt.Errorf("%w: purge delay %s is negative", ErrInvalidInput, *in.PurgeDelay)
	}
	return nil
}

// ErrInvalidInput marks an EscrowInput that can never run.
var ErrInvalidInput = errors.New("invalid escrow input")

// Escrow is the escrow workflow: it sets up the 2-of-3 multisig wallets and returns the
// multisig address.
func Escrow(ctx workflow.Context, in EscrowInput) (EscrowResult, error) {
	e, err := newEscrow(ctx, in)
	if err != nil {
		return EscrowResult{}, err
	}
	return e.run(ctx)
}

// Error types the workflow fails with.
const (
	// ErrTypeSetupFailed ends a setup that cannot complete; the status query says why.
	ErrTypeSetupFailed = "SetupFailed"
	// ErrTypeInvalidInput rejects an input that can never work.
	ErrTypeInvalidInput = "InvalidInput"
)
