-- The marketplace's projection of each escrow workflow. The workflow is the source of truth;
-- this table is what the marketplace queries. Every constraint is named so that a refused row
-- names the rule it broke (store.ConstraintError.Constraint).

-- +goose Up
CREATE TABLE escrows (
    escrow_id           text        NOT NULL,
    order_id            text        NOT NULL,
    buyer_id            text        NOT NULL,
    vendor_id           text        NOT NULL,
    arbiter_id          text        NOT NULL,
    amount_atomic       bigint      NOT NULL,
    status              text        NOT NULL,
    multisig_phase      text        NOT NULL,
    multisig_round      smallint    NOT NULL,
    multisig_address    text        NULL,
    multisig_state_json jsonb       NOT NULL,
    -- Ciphertext only (keyring.Seal with aad "escrow:<escrow_id>"); never plaintext.
    multisig_infos_enc  bytea       NULL,
    workflow_id         text        NOT NULL,
    run_id              text        NOT NULL,
    version             bigint      NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT escrows_pkey PRIMARY KEY (escrow_id),
    -- Same rule as escrow.ValidateID: the id ends up in workflow ids and wallet file names.
    CONSTRAINT escrows_escrow_id_format CHECK (escrow_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    CONSTRAINT escrows_order_id_nonempty CHECK (order_id <> ''),
    CONSTRAINT escrows_buyer_id_nonempty CHECK (buyer_id <> ''),
    CONSTRAINT escrows_vendor_id_nonempty CHECK (vendor_id <> ''),
    CONSTRAINT escrows_arbiter_id_nonempty CHECK (arbiter_id <> ''),
    -- Piconero (1 XMR = 10^12); a bigint holds up to ~9.2 million XMR per escrow.
    CONSTRAINT escrows_amount_nonnegative CHECK (amount_atomic >= 0),
    -- Must list exactly escrow.Statuses; TestStatusConstraintMatchesGo fails on drift.
    CONSTRAINT escrows_status_known CHECK (status IN (
        'setting_up', 'ready', 'failed', 'awaiting_funding', 'funded',
        'shipped', 'disputed', 'completed', 'refunded', 'cancelled')),
    -- Must list exactly escrow.Phases; TestPhaseConstraintMatchesGo fails on drift.
    CONSTRAINT escrows_phase_known CHECK (multisig_phase IN (
        'NotStarted', 'Preparing', 'Exchanging', 'Ready', 'Failed')),
    CONSTRAINT escrows_round_range CHECK (multisig_round BETWEEN 0 AND 3),
    -- A multisig address is a standard Monero address (escrow.AddressLength).
    CONSTRAINT escrows_address_length CHECK (multisig_address IS NULL OR char_length(multisig_address) = 95),
    -- Readers branch on schema_version; coalesce because a CHECK passes on NULL, which is what
    -- jsonb_typeof yields for a non-object or a missing key.
    CONSTRAINT escrows_state_schema_version CHECK (
        coalesce(jsonb_typeof(multisig_state_json -> 'schema_version') = 'number', false)),
    CONSTRAINT escrows_workflow_id_nonempty CHECK (workflow_id <> ''),
    CONSTRAINT escrows_run_id_nonempty CHECK (run_id <> ''),
    CONSTRAINT escrows_version_positive CHECK (version > 0)
);

CREATE INDEX escrows_status_idx ON escrows (status);
CREATE INDEX escrows_multisig_phase_idx ON escrows (multisig_phase);
-- List orders by (created_at, escrow_id); this keeps a bounded listing off a full sort.
CREATE INDEX escrows_created_at_idx ON escrows (created_at, escrow_id);

-- +goose Down
DROP TABLE escrows;
