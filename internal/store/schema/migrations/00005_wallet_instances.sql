-- The wallet-rpc instances of every host, and which escrow's setup holds each: the lease
-- table that lets one setup place its three roles on three hosts. Each worker writes a
-- heartbeat row per instance it serves; a lease is a row update, so every host sees it.

-- +goose Up
CREATE TABLE wallet_instances (
    instance      text        NOT NULL,
    -- The failure domain: one disk or machine; roles are spread over distinct hosts.
    host          text        NOT NULL,
    healthy       boolean     NOT NULL,
    -- false on a --wallets-only worker: it serves steps but takes no new setups.
    accepting     boolean     NOT NULL,
    seen_at       timestamptz NOT NULL DEFAULT now(),
    escrow_id     text        NULL,
    lease_expires timestamptz NULL,
    -- The role's index in escrow.Roles, so a repeated ask returns the same role order.
    lease_role    integer     NULL,
    -- When it was last leased: the oldest is handed out first, so leases rotate.
    leased_at     timestamptz NULL,

    CONSTRAINT wallet_instances_pkey PRIMARY KEY (instance),
    CONSTRAINT wallet_instances_instance_nonempty CHECK (instance <> ''),
    CONSTRAINT wallet_instances_host_nonempty CHECK (host <> ''),
    CONSTRAINT wallet_instances_lease_whole CHECK ((escrow_id IS NULL) = (lease_expires IS NULL) AND (escrow_id IS NULL) = (lease_role IS NULL))
);

CREATE INDEX wallet_instances_escrow_idx ON wallet_instances (escrow_id) WHERE escrow_id IS NOT NULL;

-- Setups refused for want of capacity, oldest first: a release wakes the oldest.
CREATE TABLE lease_waiters (
    escrow_id text        NOT NULL,
    since     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lease_waiters_pkey PRIMARY KEY (escrow_id)
);

-- +goose Down
DROP TABLE lease_waiters;
DROP TABLE wallet_instances;
