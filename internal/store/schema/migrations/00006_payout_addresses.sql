-- The two addresses an escrow may pay out to, so the marketplace's view shows where the money
-- can go. They are public (the parties gave them); rows written before this migration have ''
-- until their escrow's next projection.

-- +goose Up
ALTER TABLE escrows
    ADD COLUMN vendor_payout_address text NOT NULL DEFAULT '',
    ADD COLUMN buyer_refund_address  text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE escrows
    DROP COLUMN buyer_refund_address,
    DROP COLUMN vendor_payout_address;
