// Package fakeplacer is a shared lease table in memory, for the activity packages' unit tests
// (the real one, store.Store, is tested on PostgreSQL).
package fakeplacer

import (
	"context"
	"time"

	"github.com/xmr-escrow/xmr-escrow/internal/store"
)

// Placer stands in for the shared lease table (store.Store, tested on PostgreSQL).
type Placer struct {
	// Placed is what PlaceEscrow answers, Err its error; Released records each ReturnLease;
	// Waiter is the escrow PopLeaseWaiter names.
	Placed   []store.Placed
	Err      error
	Released []string
	Waiter   string
	// Holder is the setup YieldInstance reports; Wants records the instances it marked.
	Holder string
	Wants  []string
}

// PlaceEscrow answers Placed and Err.
func (f *Placer) PlaceEscrow(context.Context, store.PlaceRequest) ([]store.Placed, error) {
	return f.Placed, f.Err
}

// ReturnLease records the lease it gives back.
func (f *Placer) ReturnLease(_ context.Context, instance, escrowID string) (bool, error) {
	f.Released = append(f.Released, instance+"/"+escrowID)
	return true, nil
}

// PopLeaseWaiter names Waiter, if any.
func (f *Placer) PopLeaseWaiter(context.Context, time.Duration) (string, bool, error) {
	return f.Waiter, f.Waiter != "", nil
}

// YieldInstance reports Holder, and records a wanted instance while one holds it.
func (f *Placer) YieldInstance(_ context.Context, instance, _ string, want bool) (string, error) {
	if want && f.Holder != "" {
		f.Wants = append(f.Wants, instance)
	}
	return f.Holder, nil
}
