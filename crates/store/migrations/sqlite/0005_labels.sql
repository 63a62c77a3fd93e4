-- Label purchases (transactions), refunds, manifests, tracking-number serials, and each
-- account's default label file type.

ALTER TABLE accounts ADD COLUMN label_file_type TEXT NOT NULL DEFAULT 'PDF_4x6';

CREATE TABLE transactions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    rate_id TEXT NOT NULL REFERENCES rates (id),
    shipment_id TEXT NOT NULL REFERENCES shipments (id),
    carrier_account_id TEXT NOT NULL REFERENCES carrier_accounts (id),
    address_from TEXT NOT NULL REFERENCES addresses (id),
    shipment_date_ms INTEGER NOT NULL,
    label_file_type TEXT NOT NULL,
    metadata TEXT NOT NULL,
    tracking_number TEXT,
    tracking_url TEXT,
    eta_ms INTEGER,
    label_key TEXT,
    invoice_key TEXT,
    messages TEXT NOT NULL,
    instalabel INTEGER NOT NULL,
    idempotency_key TEXT,
    manifest_id TEXT
);
-- A rate is bought at most once; a retried request finds the first purchase by either index.
CREATE UNIQUE INDEX transactions_rate ON transactions (rate_id);
CREATE UNIQUE INDEX transactions_idempotency ON transactions (account_id, idempotency_key);
CREATE INDEX transactions_owner ON transactions (account_id, test, id);
CREATE INDEX transactions_manifest ON transactions (carrier_account_id, address_from, shipment_date_ms);
CREATE INDEX transactions_tracking ON transactions (tracking_number);

-- The next tracking serial of each carrier account; processes reserve blocks of serials.
CREATE TABLE tracking_serials (
    carrier_account_id TEXT PRIMARY KEY REFERENCES carrier_accounts (id),
    next_serial INTEGER NOT NULL
);

CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    transaction_id TEXT NOT NULL REFERENCES transactions (id)
);
-- A label is refunded once.
CREATE UNIQUE INDEX refunds_transaction ON refunds (transaction_id);
CREATE INDEX refunds_owner ON refunds (account_id, test, id);

CREATE TABLE manifests (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    carrier_account_id TEXT NOT NULL REFERENCES carrier_accounts (id),
    shipment_date_ms INTEGER NOT NULL,
    address_from TEXT NOT NULL REFERENCES addresses (id),
    transactions TEXT NOT NULL,
    document_key TEXT,
    errors TEXT NOT NULL
);
CREATE INDEX manifests_owner ON manifests (account_id, test, id);

-- Shipment lists filter on creation time through their id (ids begin with their creation
-- millisecond), so this index is not needed; on PostgreSQL, before a table's first ANALYZE, the
-- planner picked it for lookups by id and scanned the whole account (10 ms instead of 0.05 ms).
DROP INDEX shipments_created;
