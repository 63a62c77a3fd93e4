-- The home page's exceptions, each read on an index: parcels that failed or came back, and
-- webhook deliveries that gave up, per account and mode, newest first.
CREATE INDEX tracks_exceptions ON tracks (account_id, test, status, updated_ms);
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (account_id, test, status, updated_ms);
