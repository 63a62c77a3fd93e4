-- The web app's orders inbox and its bulk "Buy labels" (Wave 3 · 2 of 5).

-- The search box finds an order by its number, its buyer's email or name (case-insensitive,
-- whole value), a tracking number on its labels or a backer's pledge id: each on an index,
-- never a scan of the account's orders.
CREATE INDEX orders_number ON orders (account_id, test, order_number);
CREATE INDEX orders_to_address ON orders (to_address);
CREATE INDEX addresses_email ON addresses (account_id, test, lower(email));
CREATE INDEX addresses_name ON addresses (account_id, test, lower(name));
CREATE INDEX pledges_pledge ON pledges (pledge_id);

-- A batch made by a form carries the form's idempotency key (a double click makes one batch),
-- and whether its labels are bought as soon as validation ends VALID.
ALTER TABLE batches ADD COLUMN idempotency_key TEXT;
ALTER TABLE batches ADD COLUMN purchase_when_valid BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX batches_idempotency ON batches (account_id, test, idempotency_key);
-- A batch's counts (its page polls them every second while it works) from the index alone.
CREATE INDEX batch_shipments_counts ON batch_shipments (batch_id, removed, status, transaction_id);

-- The account's sender addresses (per mode): what "Buy labels" ships from, kept in Settings.
CREATE TABLE senders (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test BIGINT NOT NULL,
    address_id TEXT NOT NULL REFERENCES addresses (id),
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (account_id, test, address_id)
);

-- The audit log: who did what to which object and when, per account (sign-ins, users, tokens,
-- sender addresses, batch purchases, refunds, order holds and cancellations).
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test BIGINT NOT NULL,
    -- user, token, cli or job; and the user's or token's id.
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    object_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_account ON audit_events (account_id, id);
