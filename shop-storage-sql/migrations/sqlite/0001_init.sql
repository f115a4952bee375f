-- shop schema, SQLite dialect.
-- Money is stored exactly as canonical decimal TEXT (e.g. '19.90') with its
-- currency beside it; a REAL copy is never stored. Times are INTEGER
-- microseconds since the Unix epoch, UTC.

CREATE TABLE categories (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    parent_id    INTEGER REFERENCES categories(id),
    is_directory INTEGER NOT NULL,
    level        INTEGER NOT NULL,
    path         TEXT    NOT NULL
);
CREATE INDEX categories_path ON categories(path);

CREATE TABLE products (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    long_title   TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    image        TEXT    NOT NULL,
    on_sale      INTEGER NOT NULL,
    category_id  INTEGER REFERENCES categories(id),
    properties   TEXT    NOT NULL,
    rating       TEXT    NOT NULL,
    sold_count   INTEGER NOT NULL,
    review_count INTEGER NOT NULL,
    price        TEXT    NOT NULL,
    currency     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX products_category ON products(category_id);

CREATE TABLE skus (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER NOT NULL REFERENCES products(id),
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL,
    price       TEXT    NOT NULL,
    currency    TEXT    NOT NULL,
    stock       INTEGER NOT NULL CHECK (stock >= 0)
);
CREATE INDEX skus_product ON skus(product_id);

CREATE TABLE addresses (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL,
    province      TEXT    NOT NULL,
    city          TEXT    NOT NULL,
    district      TEXT    NOT NULL,
    street        TEXT    NOT NULL,
    zip           TEXT    NOT NULL,
    contact_name  TEXT    NOT NULL,
    contact_phone TEXT    NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX addresses_user ON addresses(user_id);

CREATE TABLE favorites (
    user_id    INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, product_id)
);

CREATE TABLE cart_items (
    user_id  INTEGER NOT NULL,
    sku_id   INTEGER NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, sku_id)
);

CREATE TABLE coupons (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    min_amount  TEXT    NOT NULL,
    currency    TEXT    NOT NULL,
    total       INTEGER NOT NULL,
    used        INTEGER NOT NULL CHECK (used >= 0),
    not_before  INTEGER,
    not_after   INTEGER,
    enabled     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE submit_tokens (
    token      TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE orders (
    id              INTEGER PRIMARY KEY,
    no              TEXT    NOT NULL UNIQUE,
    user_id         INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    address         TEXT    NOT NULL,
    zip             TEXT    NOT NULL,
    contact_name    TEXT    NOT NULL,
    contact_phone   TEXT    NOT NULL,
    items_total     TEXT    NOT NULL,
    total           TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    coupon_id       INTEGER,
    remark          TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    refund_status   TEXT    NOT NULL,
    payment_method  TEXT,
    payment_no      TEXT,
    paid_at         INTEGER,
    ship_carrier    TEXT,
    ship_tracking   TEXT,
    shipped_at      INTEGER,
    refund_reason   TEXT,
    refund_refusal  TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    closed_at       INTEGER
);
CREATE INDEX orders_user ON orders(user_id, created_at);
CREATE INDEX orders_expiry ON orders(status, expires_at, id);

CREATE TABLE order_items (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders(id),
    line_no     INTEGER NOT NULL,
    product_id  INTEGER NOT NULL,
    sku_id      INTEGER NOT NULL,
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    unit_price  TEXT    NOT NULL,
    rating      INTEGER,
    review      TEXT,
    reviewed_at INTEGER
);
CREATE INDEX order_items_order ON order_items(order_id);
CREATE INDEX order_items_product ON order_items(product_id);

-- One row per (coupon, user) while the user holds the coupon on a live order
-- (pending, or paid and not fully refunded): the primary key enforces
-- once-per-user under any concurrency.
CREATE TABLE coupon_holds (
    coupon_id INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    order_id  INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (coupon_id, user_id)
);

CREATE TABLE refunds (
    id          INTEGER PRIMARY KEY,
    refund_no   TEXT    NOT NULL UNIQUE,
    order_id    INTEGER NOT NULL REFERENCES orders(id),
    amount      TEXT    NOT NULL,
    currency    TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX refunds_order ON refunds(order_id);

CREATE TABLE refund_lines (
    refund_id INTEGER NOT NULL REFERENCES refunds(id),
    line_no   INTEGER NOT NULL,
    item_id   INTEGER NOT NULL,
    quantity  INTEGER NOT NULL,
    PRIMARY KEY (refund_id, line_no)
);
