-- An account's branding: the name, accent colour and logo its buyers see on the public
-- tracking page and in its emails (the name on packing slips too). The logo's bytes are in
-- the blob store under logo_key.
CREATE TABLE account_branding (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    name TEXT NOT NULL,
    color TEXT NOT NULL,
    logo_key TEXT,
    logo_type TEXT,
    updated_ms BIGINT NOT NULL
);
