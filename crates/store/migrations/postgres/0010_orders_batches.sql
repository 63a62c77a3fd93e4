-- Orders from every source, the parcels (labels) that carry them, batches of labels, and the
-- account's own parcel templates.

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    -- The status as Shippo's enum shows it (ON_HOLD as PAID, DELIVERED and RETURNED as
    -- SHIPPED): what the list's order_status[] filter matches, on its own index.
    shown_status TEXT NOT NULL,
    source TEXT NOT NULL,
    source_id TEXT,
    order_number TEXT,
    placed_ms BIGINT NOT NULL,
    to_address TEXT NOT NULL REFERENCES addresses (id),
    from_address TEXT REFERENCES addresses (id),
    shop_app TEXT NOT NULL,
    line_items TEXT NOT NULL,
    details TEXT NOT NULL
);
-- A source's order is stored once per account and mode (NULL source ids never collide).
CREATE UNIQUE INDEX orders_source ON orders (account_id, test, source, source_id);
CREATE INDEX orders_owner ON orders (account_id, test, id);
CREATE INDEX orders_status ON orders (account_id, test, status, id);
CREATE INDEX orders_shown_status ON orders (account_id, test, shown_status, id);

-- What each label carries of each order: `portions` = JSON [{line_item, quantity}].
CREATE TABLE order_parcels (
    transaction_id TEXT NOT NULL REFERENCES transactions (id),
    order_id TEXT NOT NULL REFERENCES orders (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    portions TEXT NOT NULL,
    released BIGINT NOT NULL,
    PRIMARY KEY (transaction_id, order_id)
);
CREATE INDEX order_parcels_order ON order_parcels (order_id);

CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    default_carrier_account TEXT NOT NULL REFERENCES carrier_accounts (id),
    default_servicelevel_token TEXT NOT NULL,
    label_filetype TEXT,
    metadata TEXT NOT NULL,
    label_keys TEXT NOT NULL,
    announced BIGINT NOT NULL
);
CREATE INDEX batches_owner ON batches (account_id, test, id);

-- `request` keeps an inline shipment as sent until validation has made it; `position` keeps
-- the request's order.
CREATE TABLE batch_shipments (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    batch_id TEXT NOT NULL REFERENCES batches (id),
    position BIGINT NOT NULL,
    status TEXT NOT NULL,
    request TEXT,
    shipment_id TEXT REFERENCES shipments (id),
    order_id TEXT REFERENCES orders (id),
    carrier_account TEXT,
    servicelevel_token TEXT,
    metadata TEXT NOT NULL,
    rate_id TEXT,
    transaction_id TEXT,
    messages TEXT NOT NULL,
    removed BIGINT NOT NULL
);
CREATE INDEX batch_shipments_batch ON batch_shipments (batch_id, removed, position);
CREATE INDEX batch_shipments_status ON batch_shipments (batch_id, status, removed, position);

CREATE TABLE user_parcel_templates (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    name TEXT NOT NULL,
    length TEXT NOT NULL,
    width TEXT NOT NULL,
    height TEXT NOT NULL,
    distance_unit TEXT NOT NULL,
    weight TEXT,
    weight_unit TEXT,
    template TEXT
);
CREATE INDEX user_parcel_templates_owner ON user_parcel_templates (account_id, test, id);
