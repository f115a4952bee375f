-- A submit token placing an order written by another backend is claimed
-- first (the order id and fingerprint are set, used_at stays empty until
-- the order is written); a claim older than the shop's lease can be taken
-- over by a retry.

ALTER TABLE shop_submit_tokens ADD COLUMN claimed_at INTEGER;
