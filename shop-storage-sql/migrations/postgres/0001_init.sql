-- shop schema, PostgreSQL dialect: money as NUMERIC, times as timestamptz (UTC).
-- Counts that are `u32` in the domain (stock, quantities, coupon total/used)
-- are BIGINT: INTEGER stops at 2^31 - 1. A coupon's value is unconstrained
-- NUMERIC: a percentage may have any number of decimals, and NUMERIC(p, s)
-- would round it silently.

CREATE TABLE categories (
    id           BIGINT PRIMARY KEY,
    name         TEXT    NOT NULL,
    parent_id    BIGINT REFERENCES categories(id),
    is_directory BOOLEAN NOT NULL,
    level        INTEGER NOT NULL,
    path         TEXT    NOT NULL
);
CREATE INDEX categories_path ON categories(path);

CREATE TABLE products (
    id           BIGINT PRIMARY KEY,
    kind         TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    long_title   TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    image        TEXT    NOT NULL,
    on_sale      BOOLEAN NOT NULL,
    category_id  BIGINT REFERENCES categories(id),
    properties   TEXT    NOT NULL,
    rating       NUMERIC(5,2)    NOT NULL,
    sold_count   BIGINT NOT NULL,
    review_count BIGINT NOT NULL,
    price        NUMERIC(20,2)    NOT NULL,
    currency     CHAR(3)    NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX products_category ON products(category_id);

CREATE TABLE skus (
    id          BIGINT PRIMARY KEY,
    product_id  BIGINT NOT NULL REFERENCES products(id),
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL,
    price       NUMERIC(20,2)    NOT NULL,
    currency    CHAR(3)    NOT NULL,
    stock       BIGINT  NOT NULL CHECK (stock >= 0)
);
CREATE INDEX skus_product ON skus(product_id);

CREATE TABLE addresses (
    id            BIGINT PRIMARY KEY,
    user_id       BIGINT NOT NULL,
    province      TEXT    NOT NULL,
    city          TEXT    NOT NULL,
    district      TEXT    NOT NULL,
    street        TEXT    NOT NULL,
    zip           TEXT    NOT NULL,
    contact_name  TEXT    NOT NULL,
    contact_phone TEXT    NOT NULL,
    last_used_at  TIMESTAMPTZ
);
CREATE INDEX addresses_user ON addresses(user_id);

CREATE TABLE favorites (
    user_id    BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, product_id)
);

CREATE TABLE cart_items (
    user_id  BIGINT NOT NULL,
    sku_id   BIGINT NOT NULL,
    quantity BIGINT  NOT NULL CHECK (quantity > 0),
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, sku_id)
);

CREATE TABLE coupons (
    id          BIGINT PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    value       NUMERIC          NOT NULL,
    min_amount  NUMERIC(20,2)    NOT NULL,
    currency    CHAR(3)    NOT NULL,
    total       BIGINT  NOT NULL,
    used        BIGINT  NOT NULL CHECK (used >= 0),
    not_before  TIMESTAMPTZ,
    not_after   TIMESTAMPTZ,
    enabled     BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE submit_tokens (
    token      TEXT    PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);

CREATE TABLE orders (
    id              BIGINT PRIMARY KEY,
    no              TEXT    NOT NULL UNIQUE,
    user_id         BIGINT NOT NULL,
    kind            TEXT    NOT NULL,
    address         TEXT    NOT NULL,
    zip             TEXT    NOT NULL,
    contact_name    TEXT    NOT NULL,
    contact_phone   TEXT    NOT NULL,
    items_total     NUMERIC(20,2)    NOT NULL,
    total           NUMERIC(20,2)    NOT NULL,
    currency        CHAR(3)    NOT NULL,
    coupon_id       BIGINT,
    remark          TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    refund_status   TEXT    NOT NULL,
    payment_method  TEXT,
    payment_no      TEXT,
    paid_at         TIMESTAMPTZ,
    ship_carrier    TEXT,
    ship_tracking   TEXT,
    shipped_at      TIMESTAMPTZ,
    refund_reason   TEXT,
    refund_refusal  TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    closed_at       TIMESTAMPTZ
);
CREATE INDEX orders_user ON orders(user_id, created_at);
CREATE INDEX orders_expiry ON orders(status, expires_at, id);

CREATE TABLE order_items (
    id          BIGINT PRIMARY KEY,
    order_id    BIGINT NOT NULL REFERENCES orders(id),
    line_no     INTEGER NOT NULL,
    product_id  BIGINT NOT NULL,
    sku_id      BIGINT NOT NULL,
    quantity    BIGINT  NOT NULL CHECK (quantity > 0),
    unit_price  NUMERIC(20,2)    NOT NULL,
    rating      INTEGER,
    review      TEXT,
    reviewed_at TIMESTAMPTZ
);
CREATE INDEX order_items_order ON order_items(order_id);
CREATE INDEX order_items_product ON order_items(product_id);

-- One row per (coupon, user) while the user holds the coupon on a live order
-- (pending, or paid and not fully refunded): the primary key enforces
-- once-per-user under any concurrency.
CREATE TABLE coupon_holds (
    coupon_id BIGINT NOT NULL,
    user_id   BIGINT NOT NULL,
    order_id  BIGINT NOT NULL UNIQUE,
    PRIMARY KEY (coupon_id, user_id)
);

CREATE TABLE refunds (
    id          BIGINT PRIMARY KEY,
    refund_no   TEXT    NOT NULL UNIQUE,
    order_id    BIGINT NOT NULL REFERENCES orders(id),
    amount      NUMERIC(20,2)    NOT NULL,
    currency    CHAR(3)    NOT NULL,
    reason      TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX refunds_order ON refunds(order_id);

CREATE TABLE refund_lines (
    refund_id BIGINT NOT NULL REFERENCES refunds(id),
    line_no   INTEGER NOT NULL,
    item_id   BIGINT NOT NULL,
    quantity  BIGINT  NOT NULL,
    PRIMARY KEY (refund_id, line_no)
);
