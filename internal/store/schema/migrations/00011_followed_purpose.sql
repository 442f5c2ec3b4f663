-- An escrow's followed transactions are its payout's, or the buyer's payments while they
-- confirm: the watcher signals a payout at each new depth, a funding payment once, when it is
-- deep enough (or gone), and then stops following it.

-- +goose Up
ALTER TABLE followed_payouts ADD COLUMN purpose text NOT NULL DEFAULT 'payout'
    CHECK (purpose IN ('payout', 'funding'));

-- +goose Down
ALTER TABLE followed_payouts DROP COLUMN purpose;
