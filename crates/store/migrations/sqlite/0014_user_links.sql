-- Links that let a person set their password: an invitation (days) or a reset (an hour). The
-- link's token is kept as SHA-256 to find it, and sealed (encrypted with the server's key) only
-- until its email is sent, so the job that sends it can; a copy of the database opens nothing.
CREATE TABLE user_links (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    token_hash TEXT NOT NULL UNIQUE,
    token_sealed TEXT,
    -- Where the link points (the server's public address when it was made).
    base_url TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    used_ms INTEGER,
    sent_ms INTEGER,
    -- Why its email could not be sent (no mail server, a refused address).
    error TEXT
);
CREATE INDEX user_links_user ON user_links (user_id, purpose);
