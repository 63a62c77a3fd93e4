-- Shipments, their rates, and the durable job queue.
-- A shipment points at stored addresses and parcels (nested objects in a request are stored as
-- addresses/parcels first, as Shippo does). Rates are immutable once written: each keeps the
-- quote as priced (amounts, lines, card version) in `quote`, so a new rate card never changes
-- a rate already given.

CREATE TABLE shipments (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    purpose TEXT NOT NULL,
    address_from TEXT NOT NULL REFERENCES addresses (id),
    address_to TEXT NOT NULL REFERENCES addresses (id),
    address_return TEXT REFERENCES addresses (id),
    parcels TEXT NOT NULL,
    shipment_date_ms INTEGER NOT NULL,
    carrier_accounts TEXT NOT NULL,
    customs_declaration TEXT,
    extra TEXT NOT NULL,
    metadata TEXT NOT NULL,
    messages TEXT NOT NULL
);
CREATE INDEX shipments_owner ON shipments (account_id, test, id);
CREATE INDEX shipments_created ON shipments (account_id, test, created_ms);

CREATE TABLE rates (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test INTEGER NOT NULL,
    shipment_id TEXT NOT NULL REFERENCES shipments (id),
    created_ms INTEGER NOT NULL,
    carrier_account_id TEXT NOT NULL REFERENCES carrier_accounts (id),
    quote TEXT NOT NULL
);
CREATE INDEX rates_shipment ON rates (shipment_id, id);

-- Work done after the request that caused it. A job is claimed by setting `locked_until_ms`
-- (a lease): a worker that dies leaves a lease that expires, and the job runs again.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    run_at_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    locked_until_ms INTEGER,
    last_error TEXT,
    done_ms INTEGER
);
CREATE INDEX jobs_due ON jobs (done_ms, run_at_ms);
