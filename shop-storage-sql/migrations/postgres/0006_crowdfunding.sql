-- Crowdfunding campaigns (one per product) and the orders placed into
-- each. The placement bumps `placed` only while the campaign is funding
-- and before its end, inside its transaction; the decision is a
-- compare-and-set on `status`. An order's amount is kept in minor units
-- so totals are exact integer sums on every database.

CREATE TABLE shop_crowdfundings (
    id          BIGINT PRIMARY KEY,
    product_id  BIGINT NOT NULL UNIQUE REFERENCES shop_products(id),
    target      NUMERIC(20,2) NOT NULL,
    currency    CHAR(3)       NOT NULL,
    ends_at     TIMESTAMPTZ   NOT NULL,
    status      TEXT          NOT NULL,
    total       NUMERIC(20,2) NOT NULL,
    buyers      BIGINT        NOT NULL,
    placed      BIGINT        NOT NULL,
    created_at  TIMESTAMPTZ   NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX shop_crowdfundings_due ON shop_crowdfundings(status, ends_at);

CREATE TABLE shop_crowdfunding_orders (
    crowdfunding_id BIGINT NOT NULL,
    order_id        BIGINT NOT NULL UNIQUE,
    user_id         BIGINT NOT NULL,
    amount_minor    BIGINT NOT NULL,
    PRIMARY KEY (crowdfunding_id, order_id)
);
