-- Tracking (tracks and their carrier events), courier scan keys, outbound webhooks and their
-- deliveries (the outbox), and buyer notifications.

CREATE TABLE tracks (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    carrier TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    transaction_id TEXT REFERENCES transactions (id),
    carrier_account_id TEXT REFERENCES carrier_accounts (id),
    metadata TEXT NOT NULL,
    -- servicelevel, address_from/to (city/state/zip/country), eta, original_eta as JSON.
    detail TEXT NOT NULL,
    -- The current (latest) event's status, kept for lists and the poller.
    status TEXT NOT NULL,
    poll_at_ms INTEGER,
    poll_failures INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX tracks_number ON tracks (account_id, test, carrier, tracking_number);
CREATE INDEX tracks_lookup ON tracks (tracking_number);
CREATE INDEX tracks_transaction ON tracks (transaction_id);
CREATE INDEX tracks_poll ON tracks (poll_at_ms);

CREATE TABLE tracking_events (
    id TEXT PRIMARY KEY,
    track_id TEXT NOT NULL REFERENCES tracks (id),
    created_ms INTEGER NOT NULL,
    occurred_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    -- '' when the event has no substatus (so the unique index sees duplicates).
    substatus TEXT NOT NULL,
    details TEXT NOT NULL,
    location TEXT
);
-- The same event twice (same time, status and substatus) is stored once.
CREATE UNIQUE INDEX tracking_events_once ON tracking_events (track_id, occurred_ms, status, substatus);

-- Keys couriers post scan events with, one carrier account each; stored as SHA-256.
CREATE TABLE scan_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    carrier_account_id TEXT NOT NULL REFERENCES carrier_accounts (id),
    created_ms INTEGER NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    revoked_ms INTEGER
);
CREATE INDEX scan_keys_owner ON scan_keys (account_id, carrier_account_id);

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    url TEXT NOT NULL,
    event TEXT NOT NULL,
    active INTEGER NOT NULL,
    -- The signing secret, encrypted (it must be read back to sign).
    secret TEXT NOT NULL,
    deleted_ms INTEGER
);
CREATE INDEX webhooks_owner ON webhooks (account_id, test, id);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id),
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

-- Buyer emails: one per parcel and kind, ever.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    track_id TEXT NOT NULL REFERENCES tracks (id),
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT
);
CREATE UNIQUE INDEX notifications_once ON notifications (track_id, kind);

-- Each account's email settings (on/off, templates) as JSON; absent means the defaults.
ALTER TABLE accounts ADD COLUMN notification_settings TEXT;
