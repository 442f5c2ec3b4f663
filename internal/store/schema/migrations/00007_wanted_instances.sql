-- When a step of a finished escrow (a payout) last found an instance busy with another
-- escrow's setup and stood back: for a while no new setup is placed there, so the step gets
-- the instance once that setup ends instead of waiting behind the next one.

-- +goose Up
ALTER TABLE wallet_instances ADD COLUMN wanted_at timestamptz NULL;

-- +goose Down
ALTER TABLE wallet_instances DROP COLUMN wanted_at;
