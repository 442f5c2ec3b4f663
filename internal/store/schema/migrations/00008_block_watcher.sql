-- The block watcher: the escrows awaiting payment, each with the key that lets the watcher
-- recognise payments to its multisig address, and the blocks it has scanned, so a restarted
-- watcher goes on where it stopped and notices a reorg as a changed hash.

-- +goose Up
CREATE TABLE watched_escrows (
    escrow_id     text        NOT NULL,
    -- The multisig address, a standard address (checked with moneroaddr before the write).
    address       text        NOT NULL,
    -- The shared private view key, ciphertext only (keyring.Seal with aad
    -- "watch-view-key:<escrow_id>:<address>"); never plaintext.
    view_key      bytea       NOT NULL,
    -- Where the watcher starts looking: the wallet's height at registration minus a margin,
    -- so a payment made just before is still seen.
    from_height   bigint      NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT watched_escrows_pkey PRIMARY KEY (escrow_id),
    -- Same rule as escrow.ValidateID and escrows_escrow_id_format.
    CONSTRAINT watched_escrows_escrow_id_format CHECK (escrow_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    CONSTRAINT watched_escrows_address_length CHECK (length(address) = 95),
    CONSTRAINT watched_escrows_from_height_nonnegative CHECK (from_height >= 0)
);

CREATE TABLE watcher_blocks (
    height     bigint      NOT NULL PRIMARY KEY,
    hash       text        NOT NULL,
    scanned_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE watcher_blocks;
DROP TABLE watched_escrows;
