-- Crowdfunding campaigns (one per product) and the orders placed into
-- each. The placement bumps `placed` only while the campaign is funding
-- and before its end, inside its transaction; the decision is a
-- compare-and-set on `status`. An order's amount is kept in minor units
-- so totals are exact integer sums on every database.

CREATE TABLE shop_crowdfundings (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER NOT NULL UNIQUE REFERENCES shop_products(id),
    target      TEXT    NOT NULL,
    currency    TEXT    NOT NULL,
    ends_at     INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    total       TEXT    NOT NULL,
    buyers      INTEGER NOT NULL,
    placed      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX shop_crowdfundings_due ON shop_crowdfundings(status, ends_at);

CREATE TABLE shop_crowdfunding_orders (
    crowdfunding_id INTEGER NOT NULL,
    order_id        INTEGER NOT NULL UNIQUE,
    user_id         INTEGER NOT NULL,
    amount_minor    INTEGER NOT NULL,
    PRIMARY KEY (crowdfunding_id, order_id)
);
