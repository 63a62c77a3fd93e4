-- People who sign in to the web app, and their sessions.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    -- Lower-cased; one sign-in names one person across every account.
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'staff', 'developer')),
    -- Argon2id in PHC string form.
    password_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    disabled_ms BIGINT
);
CREATE INDEX users_account ON users (account_id, id);

-- Sessions: the cookie's id is kept as SHA-256 only, so a copy of the database opens none.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    -- The per-session anti-forgery token every form and htmx request carries.
    csrf TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    -- The absolute end, whatever the activity.
    expires_ms BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
