-- The block watcher follows a payout's transactions by hash after they are submitted: each
-- new block it asks monerod where they are (pool, block, depth) and signals the escrow when
-- that changes, and when one disappears (dropped from the pool, reorged out), through the
-- late-money grace period. Nothing secret: a transaction hash is what the chain shows anyone.

-- +goose Up
CREATE TABLE followed_payouts (
    escrow_id  text        NOT NULL,
    tx_hash    text        NOT NULL,
    -- The depth the escrow waits for (Timing.PayoutConfirmations): deeper is not signalled.
    target     bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (escrow_id, tx_hash)
);

-- +goose Down
DROP TABLE followed_payouts;
