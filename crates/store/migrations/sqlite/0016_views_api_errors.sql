-- The inbox's saved views: a name and the web app's filter query, shared by the account's
-- people (like its sender addresses), at most a few dozen per account.
CREATE TABLE saved_views (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

-- The API's recent refusals per account and mode (the Developers page): what was asked and
-- what was answered, never the request's body or credentials. Pruned to the newest few
-- hundred per account and mode as they are written.
CREATE TABLE api_errors (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test INTEGER NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX api_errors_owner ON api_errors (account_id, test, id);
