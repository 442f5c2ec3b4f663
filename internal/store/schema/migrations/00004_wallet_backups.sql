-- A sealed copy of each role's wallet keys file, so that one lost wallet disk does not strand
-- a key share. No foreign key to escrows: the projection row may be written after the first
-- backup. Every constraint is named so that a refused row names the rule it broke.

-- +goose Up
CREATE TABLE wallet_backups (
    escrow_id    text        NOT NULL,
    role         text        NOT NULL,
    -- 0 after create, 1-3 after each key-exchange round, 4 at Ready; only ever moves up.
    stage        integer     NOT NULL,
    instance     text        NOT NULL,
    -- Ciphertext only (keyring.Seal with aad "wallet-keys:<escrow_id>:<role>"); never plaintext.
    keys_enc     bytea       NOT NULL,
    -- SHA-256 of the plaintext keys file, which the wallet password already encrypts, so the
    -- hash reveals nothing useful; a restore checks the file it writes against it.
    keys_sha256  bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- NULL while the escrow runs; set once it is final, to final + late-money grace.
    retain_until timestamptz NULL,

    CONSTRAINT wallet_backups_pkey PRIMARY KEY (escrow_id, role),
    -- Same rule as escrow.ValidateID and escrows_escrow_id_format.
    CONSTRAINT wallet_backups_escrow_id_format CHECK (escrow_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    -- Must list exactly escrow.Roles; TestWalletBackupRoleConstraintMatchesGo fails on drift.
    CONSTRAINT wallet_backups_role_known CHECK (role IN ('buyer', 'vendor', 'arbiter')),
    CONSTRAINT wallet_backups_stage_range CHECK (stage BETWEEN 0 AND 4),
    CONSTRAINT wallet_backups_instance_nonempty CHECK (instance <> ''),
    CONSTRAINT wallet_backups_keys_sha256_length CHECK (length(keys_sha256) = 32)
);

-- The purge looks up expired rows only; running escrows (NULL) need no entry.
CREATE INDEX wallet_backups_retain_until_idx ON wallet_backups (retain_until) WHERE retain_until IS NOT NULL;

-- +goose Down
DROP TABLE wallet_backups;
