-- Pending refunds by id, for the job that re-sends them to their gateways
-- (OrderStore::list_pending_refunds pages them by id after a cursor) (PostgreSQL).
CREATE INDEX refunds_pending ON refunds(status, id);
