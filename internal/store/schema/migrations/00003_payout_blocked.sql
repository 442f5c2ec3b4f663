-- A payout that cannot proceed parks as payout_blocked instead of failing the escrow.
-- Must list exactly escrow.Statuses (TestEnumConstraintsMatchGo).

-- +goose Up
ALTER TABLE escrows DROP CONSTRAINT escrows_status_known;
ALTER TABLE escrows ADD CONSTRAINT escrows_status_known CHECK (status IN (
    'setting_up', 'ready', 'failed', 'awaiting_funding', 'funded',
    'shipped', 'disputed', 'releasing', 'refunding', 'completed', 'refunded', 'cancelled',
    'payout_blocked'));

-- +goose Down
ALTER TABLE escrows DROP CONSTRAINT escrows_status_known;
ALTER TABLE escrows ADD CONSTRAINT escrows_status_known CHECK (status IN (
    'setting_up', 'ready', 'failed', 'awaiting_funding', 'funded',
    'shipped', 'disputed', 'releasing', 'refunding', 'completed', 'refunded', 'cancelled'));
