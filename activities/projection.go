package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// Projection writes the marketplace's view of an escrow into PostgreSQL. The workflow
// history stays the source of truth; this is a projection of it.
type Projection struct {
	store *store.Store
}

// NewProjection returns the projection activity over s.
func NewProjection(s *store.Store) *Projection { return &Projection{store: s} }

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
			return ProjectResult{}, nonRetryable(escrow.ErrTypeInvalidInput, err)
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
