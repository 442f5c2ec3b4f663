package activities

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// Pool knows the wallet-rpc instances this worker serves and hands them out to new escrows.
type Pool struct {
	instances []string
	next      atomic.Uint64
}

// NewPool returns a pool over the named instances, in the given order.
func NewPool(instances []string) (*Pool, error) {
	if len(instances) == 0 {
		return nil, errors.New("wallet-rpc pool: no instances configured")
	}
	seen := map[string]bool{}
	for _, in := range instances {
		if in == "" || seen[in] {
			return nil, fmt.Errorf("wallet-rpc pool: empty or repeated instance name %q", in)
		}
		seen[in] = true
	}
	return &Pool{instances: append([]string(nil), instances...)}, nil
}

// AssignInput asks for the instances of one escrow.
type AssignInput struct {
	EscrowID string `json:"escrow_id"`
}

// AssignWalletRPCs picks the instance of each role. It runs as a local activity, so the
// choice is recorded in history once and replays identically. Consecutive escrows start at
// consecutive instances so that load spreads, and one escrow's three roles land on three
// different instances whenever there are three, so each round's steps run in parallel.
func (p *Pool) AssignWalletRPCs(_ context.Context, in AssignInput) (escrow.Assignment, error) {
	if err := escrow.ValidateID(in.EscrowID); err != nil {
		return escrow.Assignment{}, nonRetryable(ErrTypeInvalidInput, err)
	}
	start := p.next.Add(1) - 1
	pick := func(i uint64) string { return p.instances[(start+i)%uint64(len(p.instances))] }
	return escrow.Assignment{Buyer: pick(0), Vendor: pick(1), Arbiter: pick(2)}, nil
}
