-- The shop's schema, SQLite dialect. Every table is prefixed `shop_`, so it
-- lives beside an application's own tables; shop-storage-sql records this
-- migration in `shop_migrations`, never in sqlx's `_sqlx_migrations`.
--
-- Money is stored exactly as canonical decimal TEXT (e.g. '19.90') with its
-- currency beside it; a REAL copy is never stored. Times are INTEGER
-- microseconds since the Unix epoch, UTC.

CREATE TABLE shop_categories (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    parent_id    INTEGER REFERENCES shop_categories(id),
    is_directory INTEGER NOT NULL,
    level        INTEGER NOT NULL,
    path         TEXT    NOT NULL
);
CREATE INDEX shop_categories_path ON shop_categories(path);

CREATE TABLE shop_products (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    long_title   TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    image        TEXT    NOT NULL,
    on_sale      INTEGER NOT NULL,
    category_id  INTEGER REFERENCES shop_categories(id),
    properties   TEXT    NOT NULL,
    rating       TEXT    NOT NULL,
    sold_count   INTEGER NOT NULL,
    review_count INTEGER NOT NULL,
    price        TEXT    NOT NULL,
    currency     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    search_text  TEXT    NOT NULL
);
CREATE INDEX shop_products_category ON shop_products(category_id);

CREATE TABLE shop_skus (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER NOT NULL REFERENCES shop_products(id),
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL,
    price       TEXT    NOT NULL,
    currency    TEXT    NOT NULL,
    stock       INTEGER NOT NULL CHECK (stock >= 0)
);
CREATE INDEX shop_skus_product ON shop_skus(product_id);

CREATE TABLE shop_addresses (
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
CREATE INDEX shop_addresses_user ON shop_addresses(user_id);

CREATE TABLE shop_favorites (
    user_id    INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, product_id)
);

CREATE TABLE shop_cart_items (
    user_id  INTEGER NOT NULL,
    sku_id   INTEGER NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, sku_id)
);

CREATE TABLE shop_coupons (
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

CREATE TABLE shop_submit_tokens (
    token      TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    order_id            INTEGER,
    request_fingerprint TEXT
);

CREATE TABLE shop_orders (
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
CREATE INDEX shop_orders_user ON shop_orders(user_id, created_at);
CREATE INDEX shop_orders_expiry ON shop_orders(status, expires_at, id);
-- delete_coupon looks for an order using the coupon.
CREATE INDEX shop_orders_coupon ON shop_orders(coupon_id);

CREATE TABLE shop_order_items (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES shop_orders(id),
    line_no     INTEGER NOT NULL,
    product_id  INTEGER NOT NULL,
    sku_id      INTEGER NOT NULL,
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    unit_price  TEXT    NOT NULL,
    rating      INTEGER,
    review      TEXT,
    reviewed_at INTEGER
);
CREATE INDEX shop_order_items_order ON shop_order_items(order_id);
CREATE INDEX shop_order_items_product ON shop_order_items(product_id);

-- One row per (coupon, user) while the user holds the coupon on a live order
-- (pending, or paid and not fully refunded): the primary key enforces
-- once-per-user under any concurrency.
CREATE TABLE shop_coupon_holds (
    coupon_id INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    order_id  INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (coupon_id, user_id)
);

CREATE TABLE shop_refunds (
    id          INTEGER PRIMARY KEY,
    refund_no   TEXT    NOT NULL UNIQUE,
    order_id    INTEGER NOT NULL REFERENCES shop_orders(id),
    amount      TEXT    NOT NULL,
    currency    TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX shop_refunds_order ON shop_refunds(order_id);

CREATE TABLE shop_refund_lines (
    refund_id INTEGER NOT NULL REFERENCES shop_refunds(id),
    line_no   INTEGER NOT NULL,
    item_id   INTEGER NOT NULL,
    quantity  INTEGER NOT NULL,
    PRIMARY KEY (refund_id, line_no)
);

-- Accounts, their one-time tokens and sessions.
CREATE TABLE shop_accounts (
    id                INTEGER PRIMARY KEY,
    email             TEXT    NOT NULL UNIQUE,
    name              TEXT    NOT NULL,
    password_hash     TEXT    NOT NULL,
    role              TEXT    NOT NULL,
    email_verified_at INTEGER,
    created_at        INTEGER NOT NULL,
    deactivated_at    INTEGER
);

-- One-time tokens e-mailed to an account (verify the address, reset the
-- password), as digests.
CREATE TABLE shop_account_tokens (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES shop_accounts(id),
    purpose    TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE shop_sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX shop_sessions_expiry ON shop_sessions(expires_at);

-- Pending refunds by id, for the job that re-sends them to their gateways
-- (OrderStore::list_pending_refunds pages them by id after a cursor).
CREATE INDEX shop_refunds_pending ON shop_refunds(status, id);

-- Keyword search and fast listings. search_text is shop-core's
-- catalog::search_text of the product (title, long title and description,
-- lower-cased), written by the store; a trigram FTS5 index over it answers
-- keywords of three or more characters without a scan. One index per
-- listing order, on-sale first.
CREATE VIRTUAL TABLE shop_products_search USING fts5(
    search_text, content='shop_products', content_rowid='id', tokenize='trigram case_sensitive 1'
);
CREATE TRIGGER shop_products_search_insert AFTER INSERT ON shop_products BEGIN
    INSERT INTO shop_products_search(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER shop_products_search_delete AFTER DELETE ON shop_products BEGIN
    INSERT INTO shop_products_search(shop_products_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER shop_products_search_update AFTER UPDATE OF search_text ON shop_products BEGIN
    INSERT INTO shop_products_search(shop_products_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    INSERT INTO shop_products_search(rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE INDEX shop_products_listing_newest ON shop_products(on_sale, id);
CREATE INDEX shop_products_listing_price ON shop_products(on_sale, CAST(price AS REAL), id);
CREATE INDEX shop_products_listing_price_newest ON shop_products(on_sale, CAST(price AS REAL), id DESC);
CREATE INDEX shop_products_listing_sold ON shop_products(on_sale, sold_count, id);
CREATE INDEX shop_products_listing_rating ON shop_products(on_sale, CAST(rating AS REAL), id);
CREATE INDEX shop_products_listing_reviews ON shop_products(on_sale, review_count, id);

-- Ending every session of a user (a password reset) finds them by user.
CREATE INDEX shop_sessions_user ON shop_sessions(user_id);
