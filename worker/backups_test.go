package worker

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestAWorkerWithoutADatabaseBacksUpNothing: a participant's own worker (--wallets-only)
// has no store; a nil *store.Store must not turn into a non-nil Backups that panics on the
// first round.
func TestAWorkerWithoutADatabaseBacksUpNothing(t *testing.T) {
	assert.Nil(t, backupsOf(Config{WalletsOnly: true}))
	assert.Nil(t, watchesOf(Config{WalletsOnly: true}), "nor registers block watches: its escrows poll")
}
