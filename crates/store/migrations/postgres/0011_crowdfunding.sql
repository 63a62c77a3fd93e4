-- Crowdfunding fulfilment (seed 000): projects, their keys, backers' pledges, dispatch emails,
-- what a provider sync pushed, and the events providers send back.

CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    name TEXT NOT NULL,
    locked_ms BIGINT,
    -- The native integration: its kind, API base, encrypted API key and webhook secret, and
    -- the return address.
    provider TEXT,
    provider_base TEXT,
    provider_key TEXT,
    webhook_secret TEXT,
    return_address TEXT REFERENCES addresses (id),
    -- One reward parcel's weight (`{weight, unit}` JSON), for provider records and labels.
    reward_weight TEXT
);
CREATE INDEX projects_owner ON projects (account_id, test, id);

-- Project API keys, stored as SHA-256 only.
CREATE TABLE project_keys (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id),
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE INDEX project_keys_project ON project_keys (project_id);

-- One row per backer's pledge; `order_id` once the address is complete and shippable.
-- `dispatched_ms` is set once, by whichever update first reports the parcel shipped: the
-- guard of the one dispatch email.
CREATE TABLE pledges (
    project_id TEXT NOT NULL REFERENCES projects (id),
    pledge_id TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    position BIGINT NOT NULL,
    order_id TEXT REFERENCES orders (id),
    backer_email TEXT NOT NULL,
    backer_name TEXT NOT NULL,
    tier_name TEXT NOT NULL,
    pledged_ms BIGINT NOT NULL,
    problems TEXT NOT NULL,
    carrier TEXT,
    tracking_number TEXT,
    progress TEXT,
    tracked_ms BIGINT,
    dispatched_ms BIGINT,
    PRIMARY KEY (project_id, pledge_id)
);
CREATE UNIQUE INDEX pledges_order ON pledges (order_id);
CREATE INDEX pledges_listing ON pledges (project_id, position);
CREATE INDEX pledges_tracking ON pledges (project_id, tracking_number);

CREATE TABLE dispatch_emails (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    project_id TEXT NOT NULL REFERENCES projects (id),
    order_id TEXT NOT NULL UNIQUE REFERENCES orders (id),
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    recipient TEXT NOT NULL,
    carrier TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    tracking_url TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT
);

-- What a sync pushed for each order: the provider's record and a digest of what was sent.
CREATE TABLE provider_records (
    project_id TEXT NOT NULL REFERENCES projects (id),
    order_id TEXT NOT NULL REFERENCES orders (id),
    provider TEXT NOT NULL,
    remote_id TEXT,
    digest TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    synced_ms BIGINT NOT NULL,
    PRIMARY KEY (project_id, order_id)
);
CREATE INDEX provider_records_remote ON provider_records (project_id, remote_id);

CREATE TABLE project_syncs (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    project_id TEXT NOT NULL REFERENCES projects (id),
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    failures TEXT NOT NULL,
    -- The last order id done (orders are pushed in id order): where a resumed job goes on.
    cursor TEXT
);
CREATE INDEX project_syncs_project ON project_syncs (project_id, id);

-- Every signed event a provider sent, matched or not (`order_id` NULL = unmatched).
CREATE TABLE project_events (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    received_ms BIGINT NOT NULL,
    provider TEXT NOT NULL,
    event_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    tracking_number TEXT,
    order_id TEXT REFERENCES orders (id),
    note TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX project_events_once ON project_events (project_id, provider, event_key);
CREATE INDEX project_events_listing ON project_events (project_id, id);
