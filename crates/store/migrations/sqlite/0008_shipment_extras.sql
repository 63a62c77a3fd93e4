-- A shipment's checked extras in their own serde shape, written when it is created, so the rate
-- job and the labels read them instead of parsing the `extra` object as sent again. Shipments
-- from before keep NULL here and are read from `extra`.
ALTER TABLE shipments ADD COLUMN extras TEXT;
