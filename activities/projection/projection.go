// Package projection writes the marketplace's view of each escrow into PostgreSQL, and reads
// and ends what the block watcher keeps for it: the activities that need the database but
// no wallet, so they run on the escrow queue.
package projection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/xmr-escrow/xmr-escrow/activities/internal/failure"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// Projection writes the marketplace's view of an escrow into PostgreSQL. The workflow
// history stays the source of truth; this is a projection of it.
type Projection struct {
	store *store.Store
}

// New returns the projection activity over s.
func New(s *store.Store) *Projection { return &Projection{store: s} }

// ProjectInput is one escrow's state at one phase change, numbered by Version.
type ProjectInput struct {
	escrow.Summary
	Wallets   map[escrow.Role]string `json:"wallets,omitempty"`
	Instances map[escrow.Role]string `json:"instances,omitempty"`
	// MultisigInfos are the latest key-exchange messages: secrets, stored only encrypted.
	MultisigInfos map[escrow.Role]string `json:"multisig_infos,omitempty"`
	WorkflowID    string                 `json:"workflow_id"`
	RunID         string                 `json:"run_id"`
	// Version grows with every projection of one escrow; a row never moves to a lower one.
	Version int64 `json:"version"`
	// RetainBackupsFor is how long the wallet backups outlive a final status: the late-money
	// grace, during which a late payment still needs the keys (0: DefaultBackupRetention).
	RetainBackupsFor time.Duration `json:"retain_backups_for,omitempty"`
}

// DefaultBackupRetention keeps a final escrow's wallet backups as long as the default
// late-money grace.
const DefaultBackupRetention = 7 * 24 * time.Hour

// ProjectResult says whether the row moved (false: a newer version was already there).
type ProjectResult struct {
	Applied bool `json:"applied"`
}

// ProjectEscrow upserts the row if Version is newer than the stored one. A database that is
// down is retried; a row the schema refuses is a bug no retry fixes.
func (p *Projection) ProjectEscrow(ctx context.Context, in ProjectInput) (ProjectResult, error) {
	applied, err := p.store.Upsert(ctx, store.Escrow{
		EscrowID: in.EscrowID, Order: in.Order,
		Status: in.Status, Phase: in.Phase, Round: in.Round, Address: in.Address,
		State: store.MultisigState{
			SchemaVersion: store.StateSchemaVersion,
			Phase:         in.Phase, Round: in.Round,
			Wallets: in.Wallets, Instances: in.Instances, Reason: in.Reason,
		},
		MultisigInfos: in.MultisigInfos,
		WorkflowID:    in.WorkflowID, RunID: in.RunID,
		Version: in.Version,
	})
	if err != nil {
		err = fmt.Errorf("project escrow %s version %d: %w", in.EscrowID, in.Version, err)
		if errors.Is(err, store.ErrInvalid) { // Go-side validation and schema constraints alike
			return ProjectResult{}, failure.NonRetryable(escrow.ErrTypeInvalidInput, err)
		}
		return ProjectResult{}, err
	}
	if in.Status.Final() {
		// From a final status on, the backups are kept only through the late-money grace.
		keep := in.RetainBackupsFor
		if keep <= 0 {
			keep = DefaultBackupRetention
		}
		if err := p.store.RetainWalletBackups(ctx, in.EscrowID, time.Now().Add(keep)); err != nil {
			return ProjectResult{}, fmt.Errorf("project escrow %s: retain wallet backups: %w", in.EscrowID, err)
		}
	}
	return ProjectResult{Applied: applied}, nil
}

// UnwatchInput names the escrow to take off the block watcher.
type UnwatchInput struct {
	EscrowID string `json:"escrow_id"`
}

// Unwatch takes the escrow off the block watcher once nothing more can arrive that it must act
// on (its late-money watch is over, or its run ends). It needs no wallet, so it runs on the
// escrow queue; an escrow not watched is no error.
func (p *Projection) Unwatch(ctx context.Context, in UnwatchInput) error {
	if err := p.store.Unwatch(ctx, in.EscrowID); err != nil {
		err = fmt.Errorf("unwatch escrow %s: %w", in.EscrowID, err)
		if errors.Is(err, store.ErrInvalid) {
			return failure.NonRetryable(escrow.ErrTypeInvalidInput, err)
		}
		return err
	}
	return nil
}

// MaxScanAge is how long ago the watcher's newest block may have been scanned for it to vouch
// for an address: blocks come every two minutes, so an hour without one means the watcher, or
// its daemon, has stalled.
const MaxScanAge = time.Hour

// WatchHealthInput names the escrow whose watch the late-money safety net asks about.
type WatchHealthInput struct {
	EscrowID string `json:"escrow_id"`
}

// WatchHealthResult says whether the watcher's records vouch for the escrow's address, and
// if not, why (for the history, which operators read).
type WatchHealthResult struct {
	Vouches bool   `json:"vouches"`
	Reason  string `json:"reason,omitempty"`
	Height  uint64 `json:"height,omitempty"`
}

// WatchHealth reads what the block watcher has done for the escrow. It vouches for the
// address when the address is registered and backfilled, no sighting for it waits to be
// delivered, and the watcher scanned a block within MaxScanAge: then any payment would already
// have been signalled, and the escrow need not ask a wallet.
func (p *Projection) WatchHealth(ctx context.Context, in WatchHealthInput) (WatchHealthResult, error) {
	h, err := p.store.WatchHealth(ctx, in.EscrowID)
	if err != nil {
		err = fmt.Errorf("watch health of escrow %s: %w", in.EscrowID, err)
		if errors.Is(err, store.ErrInvalid) {
			return WatchHealthResult{}, failure.NonRetryable(escrow.ErrTypeInvalidInput, err)
		}
		return WatchHealthResult{}, err
	}
	return judgeHealth(h), nil
}

// judgeHealth turns the watcher's records into a verdict.
func judgeHealth(h store.WatchHealth) WatchHealthResult {
	r := WatchHealthResult{Height: h.Height}
	switch {
	case !h.Registered:
		r.Reason = "the address is not registered"
	case !h.Backfilled:
		r.Reason = "the address's past has not been scanned yet"
	case h.Pending > 0:
		r.Reason = fmt.Sprintf("%d sighting(s) for the address wait to be delivered", h.Pending)
	case h.Age < 0:
		r.Reason = "the watcher has scanned no block"
	case h.Age > MaxScanAge:
		r.Reason = fmt.Sprintf("the watcher's newest block was scanned %s ago", h.Age.Round(time.Second))
	default:
		r.Vouches = true
	}
	return r
}
