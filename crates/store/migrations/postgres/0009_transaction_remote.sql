-- What a carrier adapter keeps about a label it sold (an upstream provider's shipment, tracker or
-- transaction ids, as JSON), for refunds and tracking. Labels Consign made itself keep NULL.
ALTER TABLE transactions ADD COLUMN remote TEXT;
