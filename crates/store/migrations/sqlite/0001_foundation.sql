-- Accounts, API tokens, addresses and parcels.
-- Types are kept to TEXT and INTEGER (64-bit) so the same queries decode on both backends.
-- Timestamps are milliseconds since the Unix epoch; decimals are their exact decimal text.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    mode TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);
CREATE INDEX api_tokens_account ON api_tokens (account_id);

CREATE TABLE addresses (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    state TEXT NOT NULL,
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    company TEXT NOT NULL,
    street_no TEXT NOT NULL,
    street1 TEXT NOT NULL,
    street2 TEXT NOT NULL,
    street3 TEXT NOT NULL,
    city TEXT NOT NULL,
    state_code TEXT NOT NULL,
    zip TEXT NOT NULL,
    country TEXT NOT NULL,
    phone TEXT NOT NULL,
    email TEXT NOT NULL,
    is_residential INTEGER,
    metadata TEXT NOT NULL,
    messages TEXT NOT NULL,
    validation TEXT
);
CREATE INDEX addresses_owner ON addresses (account_id, test, id);

CREATE TABLE parcels (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    length TEXT NOT NULL,
    width TEXT NOT NULL,
    height TEXT NOT NULL,
    distance_unit TEXT NOT NULL,
    weight TEXT NOT NULL,
    mass_unit TEXT NOT NULL,
    template TEXT,
    metadata TEXT NOT NULL,
    extra TEXT NOT NULL
);
CREATE INDEX parcels_owner ON parcels (account_id, test, id);
