package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jmoiron/sqlx"
)

// ScannedBlock is a block the block watcher has scanned: its height and hash, so a restart
// goes on from the last one and a reorg is seen as a changed hash.
type ScannedBlock struct {
	Height uint64 `db:"height"`
	Hash   string `db:"hash"`
}

// ScannedBlocks returns the n highest scanned blocks, highest first.
func (s *Store) ScannedBlocks(ctx context.Context, n int) ([]ScannedBlock, error) {
	var out []ScannedBlock
	if err := s.db.SelectContext(ctx, &out, `SELECT height, hash FROM watcher_blocks ORDER BY height DESC LIMIT $1`, n); err != nil {
		return nil, fmt.Errorf("store: read scanned blocks: %w", err)
	}
	return out, nil
}

// RecordScanned records a scanned block, replacing what was known at its height, and forgets
// blocks more than keep below it: a reorg deeper than that is not followed block by block.
func (s *Store) RecordScanned(ctx context.Context, b ScannedBlock, keep uint64) error {
	return s.RecordScannedWithNotices(ctx, b, keep, nil)
}

// RecordScannedWithNotices records a scanned block as RecordScanned does, and the notices
// found in it that could not be delivered, in one transaction: a leader that stops between
// the two leaves either the block to scan again or the notices to deliver, never neither.
func (s *Store) RecordScannedWithNotices(ctx context.Context, b ScannedBlock, keep uint64, notices []Notice) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: record scanned block %d: %w", b.Height, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `INSERT INTO watcher_blocks (height, hash) VALUES ($1, $2)
ON CONFLICT (height) DO UPDATE SET hash = EXCLUDED.hash, scanned_at = now()`, b.Height, b.Hash); err != nil {
		return fmt.Errorf("store: record scanned block %d: %w", b.Height, err)
	}
	if b.Height > keep {
		if _, err := tx.ExecContext(ctx, `DELETE FROM watcher_blocks WHERE height < $1`, b.Height-keep); err != nil {
			return fmt.Errorf("store: prune scanned blocks: %w", err)
		}
	}
	if err := saveNotices(ctx, tx, notices); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: record scanned block %d: %w", b.Height, err)
	}
	return nil
}

// ForgetScannedAbove drops the scanned blocks above height: a reorg replaced them.
func (s *Store) ForgetScannedAbove(ctx context.Context, height uint64) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM watcher_blocks WHERE height > $1`, height); err != nil {
		return fmt.Errorf("store: forget scanned blocks above %d: %w", height, err)
	}
	return nil
}

// Leadership is one process's hold on a PostgreSQL session advisory lock: the lock lives as
// long as the connection, so a process that dies or loses the database gives it up, and
// another replica takes over.
type Leadership struct {
	conn *sql.Conn
	key  int64
}

// Lead tries, without waiting, to become the one holder of the named lock (for example
// "block-watcher/<namespace>"). It returns nil and no error when another session holds it.
//
// ttl bounds how long a holder that stopped answering keeps the lock: PostgreSQL ends the
// session (and so releases the lock) once it has been idle for ttl (idle_session_timeout),
// whether the holder froze or lost the network, and TCP keepalives notice a dead peer within
// about ttl too. The holder must therefore call Alive more often than every ttl. Zero leaves
// the server's defaults (no bound).
func (s *Store) Lead(ctx context.Context, name string, ttl time.Duration) (*Leadership, error) {
	h := fnv.New64a()
	_, _ = h.Write([]byte("xmr-escrow/" + name))
	key := int64(h.Sum64())
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: lead %s: %w", name, err)
	}
	if err := boundSession(ctx, conn, ttl); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		_ = conn.Close()
		return nil, fmt.Errorf("store: lead %s: %w", name, err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("store: lead %s: %w", name, err)
	}
	if !ok {
		_ = conn.Close()
		return nil, nil
	}
	return &Leadership{conn: conn, key: key}, nil
}

// boundSession sets the timeouts that make PostgreSQL drop the session of a holder that stopped
// answering. The connection is discarded on Release, so the settings never reach the pool's
// other users.
func boundSession(ctx context.Context, conn *sql.Conn, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	ms := max(ttl.Milliseconds(), 1)
	secs := max(ttl.Milliseconds()/3000, 1)
	for _, q := range []string{
		fmt.Sprintf(`SET idle_session_timeout = %d`, ms),
		fmt.Sprintf(`SET idle_in_transaction_session_timeout = %d`, ms),
		fmt.Sprintf(`SET statement_timeout = %d`, ms),
		fmt.Sprintf(`SET tcp_keepalives_idle = %d`, secs),
		fmt.Sprintf(`SET tcp_keepalives_interval = %d`, secs),
		`SET tcp_keepalives_count = 3`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("bound the session (%s): %w", q, err)
		}
	}
	return nil
}

// Alive checks that the lock's connection still works: a session lock lasts as long as its
// session, so after an error the lock may be gone and the holder must stop leading. ctx should
// carry a deadline: a check that hangs is a check that failed.
func (l *Leadership) Alive(ctx context.Context) error {
	var held bool
	err := l.conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
AND granted AND objid = ($1::bigint & 4294967295)::oid AND classid = (($1::bigint >> 32) & 4294967295)::oid)`, l.key).Scan(&held)
	if err != nil {
		return fmt.Errorf("store: leadership lost: %w", err)
	}
	if !held {
		return errors.New("store: leadership lost: the session no longer holds the lock")
	}
	return nil
}

// Release gives the lock up and discards its connection: a pooled session that still held
// the lock would keep every other replica standing by, and this one carries Lead's timeouts.
func (l *Leadership) Release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = l.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, l.key)
	_ = l.conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = l.conn.Close()
}

// Notice is a payment sighting the block watcher could not deliver yet. Payload is the
// sighting as the watcher signals it (JSON); nothing in it is secret.
type Notice struct {
	ID          int64  `db:"id"`
	EscrowID    string `db:"escrow_id"`
	TxHash      string `db:"tx_hash"`
	OutputIndex int    `db:"output_index"`
	Height      uint64 `db:"height"`
	InPool      bool   `db:"in_pool"`
	Payload     []byte `db:"payload"`
}

// SaveNotices keeps sightings to deliver later (pool sightings and backfilled blocks, which
// record no block); a sighting already kept is kept once.
func (s *Store) SaveNotices(ctx context.Context, notices []Notice) error {
	if len(notices) == 0 {
		return nil
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: save notices: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := saveNotices(ctx, tx, notices); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: save notices: %w", err)
	}
	return nil
}

// saveNotices inserts notices inside tx.
func saveNotices(ctx context.Context, tx *sqlx.Tx, notices []Notice) error {
	for _, n := range notices {
		if _, err := tx.ExecContext(ctx, `INSERT INTO watcher_notices (escrow_id, tx_hash, output_index, height, in_pool, payload)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT ON CONSTRAINT watcher_notices_sighting DO NOTHING`,
			n.EscrowID, n.TxHash, n.OutputIndex, int64(n.Height), n.InPool, n.Payload); err != nil {
			return fmt.Errorf("store: save notice of escrow %q: %w", n.EscrowID, MapError(err))
		}
	}
	return nil
}

// Notices returns up to n undelivered sightings, oldest first.
func (s *Store) Notices(ctx context.Context, n int) ([]Notice, error) {
	var out []Notice
	if err := s.db.SelectContext(ctx, &out, `SELECT id, escrow_id, tx_hash, output_index, height, in_pool, payload
FROM watcher_notices ORDER BY id LIMIT $1`, n); err != nil {
		return nil, fmt.Errorf("store: read notices: %w", err)
	}
	return out, nil
}

// DeleteNotice forgets a sighting once it is delivered (or its escrow no longer watched).
func (s *Store) DeleteNotice(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM watcher_notices WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: delete notice %d: %w", id, err)
	}
	return nil
}
