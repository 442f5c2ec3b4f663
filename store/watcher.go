package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"time"
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
func (s *Store) Lead(ctx context.Context, name string) (*Leadership, error) {
	h := fnv.New64a()
	_, _ = h.Write([]byte("xmr-escrow/" + name))
	key := int64(h.Sum64())
	conn, err := s.db.Conn(ctx)
	if err != nil {
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

// Alive checks that the lock's connection still works: a session lock lasts as long as its
// session, so after an error the lock may be gone and the holder must stop leading.
func (l *Leadership) Alive(ctx context.Context) error {
	if err := l.conn.PingContext(ctx); err != nil {
		return fmt.Errorf("store: leadership lost: %w", err)
	}
	return nil
}

// Release gives the lock up and returns its connection. If the unlock fails, the connection
// is discarded instead: a pooled session that still held the lock would keep every other
// replica standing by.
func (l *Leadership) Release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := l.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, l.key); err != nil {
		_ = l.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = l.conn.Close()
}
