-- The block watcher leaves no payment to the escrows' safety-net poll: a notice it could not
-- deliver (Temporal down) is kept here, written in the same transaction as the block it was
-- found in, until a leader delivers it; and each registration records how far back it has
-- been scanned, so a new leader backfills what its predecessor had not.

-- +goose Up
-- The from_height the watcher has scanned this registration's past from; NULL until its
-- backfill ran. A registration needs one while scanned_from is NULL or above from_height (a
-- re-registration lowered it). The rows already here were backfilled by the watcher that
-- picked them up.
ALTER TABLE watched_escrows ADD COLUMN scanned_from bigint NULL;
UPDATE watched_escrows SET scanned_from = from_height;

-- A payment sighting not delivered yet. Nothing secret: a transaction hash, an output, an
-- amount and a height are what the chain shows anyone (docs/design.md, secrets).
CREATE TABLE watcher_notices (
    id           bigserial   PRIMARY KEY,
    escrow_id    text        NOT NULL,
    tx_hash      text        NOT NULL,
    output_index integer     NOT NULL,
    -- 0 for a sighting in the pool.
    height       bigint      NOT NULL,
    in_pool      boolean     NOT NULL,
    -- The sighting as the watcher signals it (watcher.Seen).
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),

    -- The same sighting found twice (a block scanned again after a crash) is kept once.
    CONSTRAINT watcher_notices_sighting UNIQUE (escrow_id, tx_hash, output_index, height, in_pool)
);

-- +goose Down
DROP TABLE watcher_notices;
ALTER TABLE watched_escrows DROP COLUMN scanned_from;
