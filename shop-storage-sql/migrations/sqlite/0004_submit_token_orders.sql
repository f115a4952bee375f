-- A consumed submit token remembers the order it placed and the fingerprint
-- of the request, so a retried submission gets its order back.
ALTER TABLE submit_tokens ADD COLUMN order_id INTEGER;
ALTER TABLE submit_tokens ADD COLUMN request_fingerprint TEXT;
