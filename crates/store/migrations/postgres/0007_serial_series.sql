-- Tracking serials by series instead of by carrier account: a rate-card account's series is its
-- id, and the test carrier has one series for every account, so two accounts' test labels never
-- share a tracking number (a buyer's public tracking page shows one parcel only).
CREATE TABLE serial_series (
    series TEXT PRIMARY KEY,
    next_serial BIGINT NOT NULL
);
INSERT INTO serial_series (series, next_serial)
    SELECT carrier_account_id, next_serial FROM tracking_serials;
-- The shared test series starts above every number any account's test carrier has issued.
INSERT INTO serial_series (series, next_serial)
    SELECT 'test_carrier', COALESCE(MAX(ts.next_serial), 1)
    FROM tracking_serials ts JOIN carrier_accounts ca ON ca.id = ts.carrier_account_id
    WHERE ca.carrier = 'shippo';
DROP TABLE tracking_serials;
