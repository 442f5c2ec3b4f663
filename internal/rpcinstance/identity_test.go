package rpcinstance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// held returns an Ownership holding dir, released when the test ends.
func held(t *testing.T, dir string) *Ownership {
	t.Helper()
	o := NewOwnership(nil)
	require.NoError(t, o.Acquire(dir))
	t.Cleanup(o.Release)
	return o
}

func readIDFile(t *testing.T, dir string) InstanceID {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, InstanceIDFileName))
	require.NoError(t, err)
	var rec InstanceID
	require.NoError(t, json.Unmarshal(b, &rec))
	return rec
}

func TestAnInstanceIDIsCreatedOnceAndReadBackAfterARestart(t *testing.T) {
	dir := t.TempDir()
	first := held(t, dir)
	id, err := first.Identify(dir, "rpc-1")
	require.NoError(t, err)
	assert.Equal(t, IDCreated, id.Source)
	assert.Regexp(t, regexp.MustCompile(`^w-[0-9a-f]{12}$`), id.ID, "a fresh dir gets a random ID, not rpc-N")
	again, err := first.Identify(dir, "rpc-1")
	require.NoError(t, err)
	assert.Equal(t, id, again, "asked twice while held: the same answer, still reported as created")
	got, ok := first.Identity(dir)
	assert.True(t, ok)
	assert.Equal(t, id, got)

	rec := readIDFile(t, dir)
	host, _ := os.Hostname()
	assert.Equal(t, id.ID, rec.ID)
	assert.Equal(t, host, rec.Host)
	assert.WithinDuration(t, time.Now(), rec.Created, time.Minute)
	left, _ := filepath.Glob(filepath.Join(dir, idTempPrefix+"*"))
	assert.Empty(t, left, "the temporary file was renamed into place")

	first.Release()
	_, ok = first.Identity(dir)
	assert.False(t, ok, "a released dir's ID is forgotten: the next holder reads the file")
	restarted := held(t, dir)
	back, err := restarted.Identify(dir, "rpc-1")
	require.NoError(t, err)
	assert.Equal(t, IDRead, back.Source)
	assert.Equal(t, id.ID, back.ID)
	claimed, err := restarted.Claim(dir, id.ID)
	require.NoError(t, err, "configuring the recorded name is fine")
	assert.Equal(t, id.ID, claimed.ID)
}

func TestAConfiguredNameIsRecordedAndAnotherOneIsRefused(t *testing.T) {
	dir := t.TempDir()
	o := held(t, dir)
	id, err := o.Claim(dir, "rpc-1")
	require.NoError(t, err)
	assert.Equal(t, IDCreated, id.Source)
	assert.Equal(t, "rpc-1", readIDFile(t, dir).ID)
	o.Release()

	o = held(t, dir)
	id, err = o.Claim(dir, "rpc-1")
	require.NoError(t, err)
	assert.Equal(t, IDRead, id.Source)
	o.Release()

	o = held(t, dir)
	_, err = o.Claim(dir, "rpc-9")
	var mismatch *NameMismatchError
	require.ErrorAs(t, err, &mismatch, "one dir under two names would split its escrows over two queues")
	assert.Equal(t, "rpc-1", mismatch.Recorded.ID)
	assert.Contains(t, err.Error(), `belongs to instance "rpc-1"`)
	assert.Contains(t, err.Error(), `not "rpc-9"`)
	assert.Contains(t, err.Error(), `name the instance "rpc-1" in the worker config`)
	assert.Equal(t, "rpc-1", readIDFile(t, dir).ID, "a refused name changes nothing")

	// A spawned instance's dir moved into a config under a made-up name is refused too.
	spawned := t.TempDir()
	o = held(t, spawned)
	sid, err := o.Identify(spawned, "rpc-2")
	require.NoError(t, err)
	_, err = o.Claim(spawned, "rpc-2")
	require.ErrorAs(t, err, &mismatch)
	assert.Equal(t, sid.ID, mismatch.Recorded.ID)
}

func TestALegacySpawnDirAdoptsItsOldName(t *testing.T) {
	legacy := t.TempDir()
	// What a worker of the previous version left: a wallet and its lock file.
	require.NoError(t, os.WriteFile(filepath.Join(legacy, "escrow-e1-buyer.keys"), []byte("k"), 0o600))
	o := held(t, legacy)
	id, err := o.Identify(legacy, "rpc-2")
	require.NoError(t, err)
	assert.Equal(t, IDAdopted, id.Source)
	assert.Equal(t, "rpc-2", id.ID, "escrows whose history names rpc-2 keep reaching it")
	assert.Equal(t, "rpc-2", readIDFile(t, legacy).ID)

	// Only this worker's own files: nothing was ever served there.
	fresh := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(fresh, idTempPrefix+"crashed"), nil, 0o600))
	o = held(t, fresh)
	id, err = o.Identify(fresh, "rpc-2")
	require.NoError(t, err)
	assert.Equal(t, IDCreated, id.Source)
	assert.NotEqual(t, "rpc-2", id.ID)
}

func TestAnInstanceIDNeedsTheLockAndADamagedOneIsNotReplaced(t *testing.T) {
	dir := t.TempDir()
	_, err := NewOwnership(nil).Claim(dir, "a")
	assert.ErrorContains(t, err, "not held by this worker")
	_, err = os.Stat(filepath.Join(dir, InstanceIDFileName))
	assert.True(t, os.IsNotExist(err), "nothing written without the lock")

	require.NoError(t, os.WriteFile(filepath.Join(dir, InstanceIDFileName), []byte(`{"id":""}`), 0o600))
	o := held(t, dir)
	_, err = o.Identify(dir, "rpc-1")
	assert.ErrorContains(t, err, "is damaged")
	b, _ := os.ReadFile(filepath.Join(dir, InstanceIDFileName))
	assert.Equal(t, `{"id":""}`, string(b), "a new ID would move the dir's escrows to a new queue")
}

func TestNewInstanceIDsAreShortAndDistinct(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id, err := NewInstanceID()
		require.NoError(t, err)
		require.Len(t, id, 14)
		require.True(t, ValidName(id))
		require.False(t, seen[id])
		seen[id] = true
	}
}
