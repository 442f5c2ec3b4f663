-- The escrow now carries money: two statuses for the time between a payout decision and its
-- confirmation. Must list exactly escrow.Statuses (TestEnumConstraintsMatchGo).

-- +goose Up
ALTER TABLE escrows DROP CONSTRAINT escrows_status_known;
ALTER TABLE escrows ADD CONSTRAINT escrows_status_known CHECK (status IN (
    'setting_up', 'ready', 'failed', 'awaiting_funding', 'funded',
    'shipped', 'disputed', 'releasing', 'refunding', 'completed', 'refunded', 'cancelled'));

-- +goose Down
ALTER TABLE escrows DROP CONSTRAINT escrows_status_known;
ALTER TABLE escrows ADD CONSTRAINT escrows_status_known CHECK (status IN (
    'setting_up', 'ready', 'failed', 'awaiting_funding', 'funded',
    'shipped', 'disputed', 'completed', 'refunded', 'cancelled'));
