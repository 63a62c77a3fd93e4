-- Carrier accounts (credentials encrypted by the service layer before they get here) and the
-- versioned rate cards of rate-card carrier accounts. A new upload adds a version; old versions
-- stay, so rates already quoted keep pointing at the card that priced them.

CREATE TABLE carrier_accounts (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    carrier TEXT NOT NULL,
    carrier_account_id TEXT NOT NULL,
    test INTEGER NOT NULL,
    active INTEGER NOT NULL,
    metadata TEXT NOT NULL,
    parameters TEXT NOT NULL,
    UNIQUE (account_id, carrier, carrier_account_id)
);
CREATE INDEX carrier_accounts_owner ON carrier_accounts (account_id, id);

CREATE TABLE rate_cards (
    id TEXT PRIMARY KEY,
    carrier_account_id TEXT NOT NULL REFERENCES carrier_accounts (id),
    version INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    card TEXT NOT NULL,
    UNIQUE (carrier_account_id, version)
);
