-- Customs items and declarations. A declaration lists its items by id (JSON array, in order) and
-- keeps its other fields as one JSON object; a shipment now points at a declaration by id.
-- Before this version `shipments.customs_declaration` held the declaration object as sent; no
-- release stored such rows, and they cannot be turned into declarations after the fact.

CREATE TABLE customs_items (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    net_weight TEXT NOT NULL,
    mass_unit TEXT NOT NULL,
    value_amount TEXT NOT NULL,
    value_currency TEXT NOT NULL,
    origin_country TEXT NOT NULL,
    tariff_number TEXT NOT NULL,
    hs_code TEXT NOT NULL,
    sku_code TEXT NOT NULL,
    eccn_ear99 TEXT NOT NULL,
    metadata TEXT NOT NULL
);
CREATE INDEX customs_items_owner ON customs_items (account_id, test, id);

CREATE TABLE customs_declarations (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    test BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    items TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX customs_declarations_owner ON customs_declarations (account_id, test, id);

UPDATE shipments SET customs_declaration = NULL;
