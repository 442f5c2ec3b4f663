package rpcinstance

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// InstanceIDFileName is the file in each wallet dir that names the instance serving it. The
// task queue comes from this name, so the queue stays with the wallet files: a payout months
// later reaches the host that holds the keys, whatever the host's flags say by then.
const InstanceIDFileName = ".xmr-escrow-instance"

// IDSource says how an instance came by its name at start, for the start-up log.
type IDSource string

// How an instance came by its name.
const (
	// IDCreated: the dir had no ID file; this start wrote one (a configured or a new name).
	IDCreated IDSource = "created"
	// IDAdopted: a spawn dir used before ID files existed keeps its legacy name "rpc-N".
	IDAdopted IDSource = "adopted"
	// IDRead: the dir's ID file named the instance.
	IDRead IDSource = "read"
)

// InstanceID is the content of a wallet dir's ID file.
type InstanceID struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Host    string    `json:"host"`
}

// Identity is a held wallet dir's instance ID and how this process came by it.
type Identity struct {
	InstanceID
	Source IDSource
}

// NameMismatchError refuses a configured name that is not the one the wallet dir records:
// serving one dir under two names across restarts would split its escrows' steps over two
// task queues, and the steps queued under the old name would never run.
type NameMismatchError struct {
	Dir        string
	Configured string
	Recorded   InstanceID
}

// Error says which name the dir belongs to and the two ways out.
func (e *NameMismatchError) Error() string {
	return fmt.Sprintf("wallet dir %s belongs to instance %q (its %s, written %s on host %s), not %q: "+
		"name the instance %q in the worker config, or give %q a wallet dir of its own; escrows assigned to %q find their wallets only under that name",
		e.Dir, e.Recorded.ID, InstanceIDFileName, e.Recorded.Created.UTC().Format(time.RFC3339), e.Recorded.Host,
		e.Configured, e.Recorded.ID, e.Configured, e.Recorded.ID)
}

// Claim binds a configured name to a dir this Ownership holds: the first use records the
// name, later ones must repeat it, or get a *NameMismatchError. Reading and writing under
// the flock means two processes never both create the file.
func (o *Ownership) Claim(dir, name string) (Identity, error) {
	id, err := o.identify(dir, func(string) (string, IDSource, error) { return name, IDCreated, nil })
	if err != nil {
		return id, err
	}
	if id.ID != name {
		return id, &NameMismatchError{Dir: CanonicalDir(dir), Configured: name, Recorded: id.InstanceID}
	}
	return id, nil
}

// claim is Claim without the Identity, for Bind.
func (o *Ownership) claim(dir, name string) error {
	_, err := o.Claim(dir, name)
	return err
}

// check refuses name if dir, which this Ownership holds, records another; it writes nothing.
func (o *Ownership) check(dir, name string) error {
	key := CanonicalDir(dir)
	o.mu.Lock()
	id, cached := o.ids[key]
	o.mu.Unlock()
	rec, found := id.InstanceID, cached
	if !cached {
		var err error
		if rec, found, err = readInstanceID(key); err != nil {
			return err
		}
	}
	if found && rec.ID != name {
		return &NameMismatchError{Dir: key, Configured: name, Recorded: rec}
	}
	return nil
}

// Identify names a spawned instance from its dir, which this Ownership holds: the ID file if
// there is one; else legacy ("rpc-N") if the dir was used before ID files existed, since
// escrows in flight name that queue; else a new random ID, unique across hosts.
func (o *Ownership) Identify(dir, legacy string) (Identity, error) {
	return o.identify(dir, func(key string) (string, IDSource, error) {
		used, err := usedBefore(key)
		if err != nil {
			return "", "", err
		}
		if used && legacy != "" {
			return legacy, IDAdopted, nil
		}
		id, err := NewInstanceID()
		return id, IDCreated, err
	})
}

// Identity returns the ID this Ownership read or wrote for dir, while it holds dir.
func (o *Ownership) Identity(dir string) (Identity, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	id, ok := o.ids[CanonicalDir(dir)]
	return id, ok
}

// identify reads dir's ID file, or writes the one fresh picks, and remembers it while the
// dir is held: the first source (created, adopted) is what the start-up log reports.
func (o *Ownership) identify(dir string, fresh func(key string) (string, IDSource, error)) (Identity, error) {
	key := CanonicalDir(dir)
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.held[key]; !ok {
		return Identity{}, fmt.Errorf("instance ID of %s: the dir is not held by this worker (lock it first, so no other process creates the ID at the same time)", dir)
	}
	if id, ok := o.ids[key]; ok {
		return id, nil
	}
	rec, found, err := readInstanceID(key)
	if err != nil {
		return Identity{}, err
	}
	id := Identity{InstanceID: rec, Source: IDRead}
	if !found {
		name, src, err := fresh(key)
		if err != nil {
			return Identity{}, fmt.Errorf("instance ID of %s: %w", key, err)
		}
		host, _ := os.Hostname()
		id = Identity{InstanceID: InstanceID{ID: name, Created: time.Now().UTC(), Host: host}, Source: src}
		if err := writeInstanceID(key, id.InstanceID); err != nil {
			return Identity{}, err
		}
	}
	o.ids[key] = id
	return id, nil
}

// NewInstanceID returns "w-" and 12 hex digits from crypto/rand: 48 bits make a clash
// between hosts negligible, and the name stays short in queue names, metric labels and
// wallet-rpc log file names.
func NewInstanceID() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "w-" + hex.EncodeToString(b), nil
}

// ValidName is the rule for instance names: they are parts of specs ("name=...,url=...;")
// and of task queue names.
func ValidName(name string) bool {
	return name != "" && !strings.ContainsAny(name, " ,;=/\n\t")
}

// idTempPrefix starts the temporary file an ID is written to before its rename; a leftover
// from a crash is a dot file no wallet name can match, and is harmless.
const idTempPrefix = InstanceIDFileName + ".tmp-"

// usedBefore reports whether a dir holds anything besides this worker's own files: wallets,
// snapshots or a wallet-rpc's logs mean an older worker served it under its legacy name, and
// a step queued under that name may still wait for a wallet it has not created yet.
func usedBefore(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		n := e.Name()
		if n != LockFileName && n != InstanceIDFileName && !strings.HasPrefix(n, idTempPrefix) {
			return true, nil
		}
	}
	return false, nil
}

// readInstanceID reads dir's ID file; found is false if there is none. A damaged file is an
// error, not a reason to write a new one: that would move the dir's escrows to a new queue.
func readInstanceID(dir string) (rec InstanceID, found bool, err error) {
	path := filepath.Join(dir, InstanceIDFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, fmt.Errorf("read instance ID: %w", err)
	}
	if err := json.Unmarshal(b, &rec); err != nil || !ValidName(rec.ID) {
		return rec, false, fmt.Errorf("instance ID file %s is damaged (%q); restore it from a backup, or write {\"id\":\"NAME\"} with the name the escrows on this dir were assigned to", path, strings.TrimSpace(string(b)))
	}
	return rec, true, nil
}

// writeInstanceID writes the ID file atomically (temp file, fsync, rename, fsync of the dir),
// so a crash leaves either no ID file or a whole one, never an empty one.
func writeInstanceID(dir string, rec InstanceID) (err error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, idTempPrefix+"*")
	if err != nil {
		return fmt.Errorf("write instance ID: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
			err = fmt.Errorf("write instance ID in %s: %w", dir, err)
		}
	}()
	if _, err = f.Write(append(b, '\n')); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), filepath.Join(dir, InstanceIDFileName)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}
