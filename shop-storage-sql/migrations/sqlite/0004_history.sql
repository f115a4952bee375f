-- Each buyer's recently viewed products, one row per product (a new view
-- moves its time), trimmed to the newest few by the store.

CREATE TABLE shop_history (
    user_id    INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    viewed_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, product_id)
);
CREATE INDEX shop_history_recent ON shop_history(user_id, viewed_at);
