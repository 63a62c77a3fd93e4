-- Labels bought and their spend per day, carrier and currency, for the home page's 30-day
-- chart. Rolled up from settled transactions after a cursor per account and mode (read when
-- the chart is drawn, never on the purchase path); amounts in ten-thousandths.
CREATE TABLE label_days (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test BIGINT NOT NULL,
    -- Days since 1970-01-01 (UTC).
    day BIGINT NOT NULL,
    carrier TEXT NOT NULL,
    currency TEXT NOT NULL,
    labels BIGINT NOT NULL,
    amount_e4 BIGINT NOT NULL,
    PRIMARY KEY (account_id, test, day, carrier, currency)
);

-- The last transaction rolled up into label_days, per account and mode.
CREATE TABLE label_day_cursors (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test BIGINT NOT NULL,
    last_id TEXT NOT NULL,
    PRIMARY KEY (account_id, test)
);
