-- The shop's schema, PostgreSQL dialect. Every table is prefixed `shop_`, so
-- it lives beside an application's own tables (in the first schema of the
-- `search_path`); shop-storage-sql records this migration in
-- `shop_migrations`, never in sqlx's `_sqlx_migrations`.
--
-- Money is NUMERIC, times are timestamptz (UTC). Counts that are `u32` in
-- the domain (stock, quantities, coupon total/used) are INTEGER: stops at
-- 2^31 - 1. A coupon's value is unconstrained NUMERIC: a percentage may
-- have any number of decimals, and NUMERIC(p, s) would round it silently.

CREATE TABLE shop_categories (
    id           BIGINT PRIMARY KEY,
    name         TEXT    NOT NULL,
    parent_id    BIGINT REFERENCES shop_categories(id),
    is_directory BOOLEAN NOT NULL,
    level        INTEGER NOT NULL,
    path         TEXT    NOT NULL
);
CREATE INDEX shop_categories_path ON shop_categories(path);

CREATE TABLE shop_products (
    id           BIGINT PRIMARY KEY,
    kind         TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    long_title   TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    image        TEXT    NOT NULL,
    on_sale      BOOLEAN NOT NULL,
    category_id  BIGINT REFERENCES shop_categories(id),
    properties   TEXT    NOT NULL,
    rating       NUMERIC(5,2)    NOT NULL,
    sold_count   BIGINT NOT NULL,
    review_count BIGINT NOT NULL,
    price        NUMERIC(20,2)    NOT NULL,
    currency     CHAR(3)    NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    search_text  TEXT NOT NULL
);
CREATE INDEX shop_products_category ON shop_products(category_id);

CREATE TABLE shop_skus (
    id          BIGINT PRIMARY KEY,
    product_id  BIGINT NOT NULL REFERENCES shop_products(id),
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL,
    price       NUMERIC(20,2)    NOT NULL,
    currency    CHAR(3)    NOT NULL,
    stock       BIGINT  NOT NULL CHECK (stock >= 0)
);
CREATE INDEX shop_skus_product ON shop_skus(product_id);

CREATE TABLE shop_addresses (
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
CREATE INDEX shop_addresses_user ON shop_addresses(user_id);

CREATE TABLE shop_favorites (
    user_id    BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, product_id)
);

CREATE TABLE shop_cart_items (
    user_id  BIGINT NOT NULL,
    sku_id   BIGINT NOT NULL,
    quantity BIGINT  NOT NULL CHECK (quantity > 0),
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, sku_id)
);

CREATE TABLE shop_coupons (
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

CREATE TABLE shop_submit_tokens (
    token      TEXT    PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    order_id            BIGINT,
    request_fingerprint TEXT
);

CREATE TABLE shop_orders (
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
CREATE INDEX shop_orders_user ON shop_orders(user_id, created_at);
CREATE INDEX shop_orders_expiry ON shop_orders(status, expires_at, id);
-- delete_coupon looks for an order using the coupon.
CREATE INDEX shop_orders_coupon ON shop_orders(coupon_id);

CREATE TABLE shop_order_items (
    id          BIGINT PRIMARY KEY,
    order_id    BIGINT NOT NULL REFERENCES shop_orders(id),
    line_no     INTEGER NOT NULL,
    product_id  BIGINT NOT NULL,
    sku_id      BIGINT NOT NULL,
    quantity    BIGINT  NOT NULL CHECK (quantity > 0),
    unit_price  NUMERIC(20,2)    NOT NULL,
    rating      INTEGER,
    review      TEXT,
    reviewed_at TIMESTAMPTZ
);
CREATE INDEX shop_order_items_order ON shop_order_items(order_id);
CREATE INDEX shop_order_items_product ON shop_order_items(product_id);

-- One row per (coupon, user) while the user holds the coupon on a live order
-- (pending, or paid and not fully refunded): the primary key enforces
-- once-per-user under any concurrency.
CREATE TABLE shop_coupon_holds (
    coupon_id BIGINT NOT NULL,
    user_id   BIGINT NOT NULL,
    order_id  BIGINT NOT NULL UNIQUE,
    PRIMARY KEY (coupon_id, user_id)
);

CREATE TABLE shop_refunds (
    id          BIGINT PRIMARY KEY,
    refund_no   TEXT    NOT NULL UNIQUE,
    order_id    BIGINT NOT NULL REFERENCES shop_orders(id),
    amount      NUMERIC(20,2)    NOT NULL,
    currency    CHAR(3)    NOT NULL,
    reason      TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX shop_refunds_order ON shop_refunds(order_id);

CREATE TABLE shop_refund_lines (
    refund_id BIGINT NOT NULL REFERENCES shop_refunds(id),
    line_no   INTEGER NOT NULL,
    item_id   BIGINT NOT NULL,
    quantity  BIGINT  NOT NULL,
    PRIMARY KEY (refund_id, line_no)
);

-- Accounts, their one-time tokens and sessions.
CREATE TABLE shop_accounts (
    id                BIGINT      PRIMARY KEY,
    email             TEXT        NOT NULL UNIQUE,
    name              TEXT        NOT NULL,
    password_hash     TEXT        NOT NULL,
    role              TEXT        NOT NULL,
    email_verified_at TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    deactivated_at    TIMESTAMPTZ
);

-- One-time tokens e-mailed to an account (verify the address, reset the
-- password), as digests.
CREATE TABLE shop_account_tokens (
    token_hash TEXT        PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES shop_accounts(id),
    purpose    TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);

CREATE TABLE shop_sessions (
    token_hash TEXT        PRIMARY KEY,
    user_id    BIGINT      NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX shop_sessions_expiry ON shop_sessions(expires_at);

-- Pending refunds by id, for the job that re-sends them to their gateways
-- (OrderStore::list_pending_refunds pages them by id after a cursor).
CREATE INDEX shop_refunds_pending ON shop_refunds(status, id);

-- Keyword search and fast listings. search_text is shop-core's
-- catalog::search_text of the product (title, long title and description,
-- lower-cased), written by the store; a pg_trgm GIN index over it answers
-- LIKE '%keyword%' without a scan. pg_trgm ships with PostgreSQL and is a
-- trusted extension (a database owner may create it); where it cannot be
-- created, search works without the index, by a scan. The index names the
-- extension's schema, wherever it was installed. One index per listing
-- order, on-sale first.
DO $$
DECLARE
    trgm_schema text;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
        RAISE NOTICE 'pg_trgm is not available: keyword search scans the products';
    END;
    SELECT n.nspname INTO trgm_schema
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_trgm';
    IF trgm_schema IS NOT NULL THEN
        EXECUTE format(
            'CREATE INDEX shop_products_search ON shop_products USING gin (search_text %I.gin_trgm_ops)',
            trgm_schema
        );
    END IF;
END
$$;

CREATE INDEX shop_products_listing_newest ON shop_products(on_sale, id);
CREATE INDEX shop_products_listing_price ON shop_products(on_sale, price, id);
CREATE INDEX shop_products_listing_price_newest ON shop_products(on_sale, price, id DESC);
CREATE INDEX shop_products_listing_sold ON shop_products(on_sale, sold_count, id);
CREATE INDEX shop_products_listing_rating ON shop_products(on_sale, rating, id);
CREATE INDEX shop_products_listing_reviews ON shop_products(on_sale, review_count, id);

-- Ending every session of a user (a password reset) finds them by user.
CREATE INDEX shop_sessions_user ON shop_sessions(user_id);
