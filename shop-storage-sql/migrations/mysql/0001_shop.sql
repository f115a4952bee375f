-- The shop's schema, MySQL/MariaDB dialect. Every table is prefixed `shop_`,
-- so it lives beside an application's own tables; shop-storage-sql records
-- this migration in `shop_migrations`, never in sqlx's `_sqlx_migrations`.
--
-- Money is DECIMAL, times are DATETIME(6) holding UTC (the store binds every
-- time; sessions run with time_zone '+00:00'). Text is utf8mb4; keys that
-- must match exactly (coupon codes, order and refund numbers, submit
-- tokens, category paths, search text) use the binary collation, so `=`,
-- `LIKE` and unique keys are case-sensitive as on the other dialects. A
-- description holds 20,000 characters of up to 4 bytes: MEDIUMTEXT.

CREATE TABLE shop_categories (
    id           BIGINT PRIMARY KEY,
    name         TEXT    NOT NULL,
    parent_id    BIGINT,
    is_directory BOOLEAN NOT NULL,
    level        INT NOT NULL,
    path         VARCHAR(768)    COLLATE utf8mb4_bin NOT NULL,
    FOREIGN KEY (parent_id) REFERENCES shop_categories(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX shop_categories_path ON shop_categories(path);

CREATE TABLE shop_products (
    id           BIGINT PRIMARY KEY,
    kind         VARCHAR(255)    NOT NULL,
    title        TEXT    NOT NULL,
    long_title   TEXT    NOT NULL,
    description  MEDIUMTEXT NOT NULL,
    image        TEXT    NOT NULL,
    on_sale      BOOLEAN NOT NULL,
    category_id  BIGINT,
    properties   TEXT    NOT NULL,
    rating       DECIMAL(5,2)    NOT NULL,
    sold_count   BIGINT NOT NULL,
    review_count BIGINT NOT NULL,
    price        DECIMAL(20,2)    NOT NULL,
    currency     CHAR(3)    NOT NULL,
    created_at   DATETIME(6) NOT NULL,
    updated_at   DATETIME(6) NOT NULL,
    search_text  MEDIUMTEXT COLLATE utf8mb4_bin NOT NULL,
    FOREIGN KEY (category_id) REFERENCES shop_categories(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX shop_products_category ON shop_products(category_id);

CREATE TABLE shop_skus (
    id          BIGINT PRIMARY KEY,
    product_id  BIGINT NOT NULL,
    title       TEXT    NOT NULL,
    description MEDIUMTEXT NOT NULL,
    price       DECIMAL(20,2)    NOT NULL,
    currency    CHAR(3)    NOT NULL,
    stock       INT NOT NULL CHECK (stock >= 0),
    FOREIGN KEY (product_id) REFERENCES shop_products(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX shop_skus_product ON shop_skus(product_id);

CREATE TABLE shop_addresses (
    id            BIGINT PRIMARY KEY,
    user_id       BIGINT NOT NULL,
    province      VARCHAR(255)    NOT NULL,
    city          VARCHAR(255)    NOT NULL,
    district      VARCHAR(255)    NOT NULL,
    street        VARCHAR(255)    NOT NULL,
    zip           VARCHAR(255)    NOT NULL,
    contact_name  VARCHAR(255)    NOT NULL,
    contact_phone VARCHAR(255)    NOT NULL,
    last_used_at  DATETIME(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX shop_addresses_user ON shop_addresses(user_id);

CREATE TABLE shop_favorites (
    user_id    BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (user_id, product_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE shop_cart_items (
    user_id  BIGINT NOT NULL,
    sku_id   BIGINT NOT NULL,
    quantity INT NOT NULL CHECK (quantity > 0),
    added_at DATETIME(6) NOT NULL,
    PRIMARY KEY (user_id, sku_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE shop_coupons (
    id          BIGINT PRIMARY KEY,
    code        VARCHAR(255)    COLLATE utf8mb4_bin NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    kind        VARCHAR(255)    NOT NULL,
    value       DECIMAL(20,4)    NOT NULL,
    min_amount  DECIMAL(20,2)    NOT NULL,
    currency    CHAR(3)    NOT NULL,
    total       INT NOT NULL,
    used        INT NOT NULL CHECK (used >= 0),
    not_before  DATETIME(6),
    not_after   DATETIME(6),
    enabled     BOOLEAN NOT NULL,
    created_at  DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE shop_submit_tokens (
    token      VARCHAR(255)    COLLATE utf8mb4_bin PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    used_at    DATETIME(6),
    order_id            BIGINT NULL,
    request_fingerprint VARCHAR(64) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE shop_orders (
    id              BIGINT PRIMARY KEY,
    no              VARCHAR(255)    COLLATE utf8mb4_bin NOT NULL UNIQUE,
    user_id         BIGINT NOT NULL,
    kind            VARCHAR(255)    NOT NULL,
    address         TEXT    NOT NULL,
    zip             VARCHAR(255)    NOT NULL,
    contact_name    VARCHAR(255)    NOT NULL,
    contact_phone   VARCHAR(255)    NOT NULL,
    items_total     DECIMAL(20,2)    NOT NULL,
    total           DECIMAL(20,2)    NOT NULL,
    currency        CHAR(3)    NOT NULL,
    coupon_id       BIGINT,
    remark          TEXT    NOT NULL,
    status          VARCHAR(255)    NOT NULL,
    refund_status   VARCHAR(255)    NOT NULL,
    payment_method  TEXT,
    payment_no      TEXT,
    paid_at         DATETIME(6),
    ship_carrier    TEXT,
    ship_tracking   TEXT,
    shipped_at      DATETIME(6),
    refund_reason   TEXT,
    refund_refusal  TEXT,
    created_at      DATETIME(6) NOT NULL,
    expires_at      DATETIME(6) NOT NULL,
    closed_at       DATETIME(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX shop_orders_user ON shop_orders(user_id, created_at);
CREATE INDEX shop_orders_expiry ON shop_orders(status, expires_at, id);
-- delete_coupon looks for an order using the coupon.
CREATE INDEX shop_orders_coupon ON shop_orders(coupon_id);

CREATE TABLE shop_order_items (
    id          BIGINT PRIMARY KEY,
    order_id    BIGINT NOT NULL,
    line_no     INT NOT NULL,
    product_id  BIGINT NOT NULL,
    sku_id      BIGINT NOT NULL,
    quantity    INT NOT NULL CHECK (quantity > 0),
    unit_price  DECIMAL(20,2)    NOT NULL,
    rating      INT,
    review      TEXT,
    reviewed_at DATETIME(6),
    FOREIGN KEY (order_id) REFERENCES shop_orders(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
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
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE shop_refunds (
    id          BIGINT PRIMARY KEY,
    refund_no   VARCHAR(255)    COLLATE utf8mb4_bin NOT NULL UNIQUE,
    order_id    BIGINT NOT NULL,
    amount      DECIMAL(20,2)    NOT NULL,
    currency    CHAR(3)    NOT NULL,
    reason      TEXT    NOT NULL,
    status      VARCHAR(255)    NOT NULL,
    created_at  DATETIME(6) NOT NULL,
    finished_at DATETIME(6),
    FOREIGN KEY (order_id) REFERENCES shop_orders(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX shop_refunds_order ON shop_refunds(order_id);

CREATE TABLE shop_refund_lines (
    refund_id BIGINT NOT NULL,
    line_no   INT NOT NULL,
    item_id   BIGINT NOT NULL,
    quantity  INT NOT NULL,
    PRIMARY KEY (refund_id, line_no),
    FOREIGN KEY (refund_id) REFERENCES shop_refunds(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Accounts, their one-time tokens and sessions.
CREATE TABLE shop_accounts (
    id                BIGINT       PRIMARY KEY,
    email             VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL UNIQUE,
    name              VARCHAR(255) NOT NULL,
    password_hash     VARCHAR(255) NOT NULL,
    role              VARCHAR(32)  NOT NULL,
    email_verified_at DATETIME(6),
    created_at        DATETIME(6)  NOT NULL,
    deactivated_at    DATETIME(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One-time tokens e-mailed to an account (verify the address, reset the
-- password), as digests.
CREATE TABLE shop_account_tokens (
    token_hash VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    user_id    BIGINT       NOT NULL,
    purpose    VARCHAR(32)  NOT NULL,
    expires_at DATETIME(6)  NOT NULL,
    used_at    DATETIME(6),
    FOREIGN KEY (user_id) REFERENCES shop_accounts(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE shop_sessions (
    token_hash VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    user_id    BIGINT       NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    expires_at DATETIME(6)  NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX shop_sessions_expiry ON shop_sessions(expires_at);

-- Pending refunds by id, for the job that re-sends them to their gateways
-- (OrderStore::list_pending_refunds pages them by id after a cursor).
CREATE INDEX shop_refunds_pending ON shop_refunds(status, id);

-- Fast listings: one index per listing order, on-sale first.
CREATE INDEX shop_products_listing_newest ON shop_products(on_sale, id);
CREATE INDEX shop_products_listing_price ON shop_products(on_sale, price, id);
CREATE INDEX shop_products_listing_price_newest ON shop_products(on_sale, price, id DESC);
CREATE INDEX shop_products_listing_sold ON shop_products(on_sale, sold_count, id);
CREATE INDEX shop_products_listing_rating ON shop_products(on_sale, rating, id);
CREATE INDEX shop_products_listing_reviews ON shop_products(on_sale, review_count, id);

-- Ending every session of a user (a password reset) finds them by user.
CREATE INDEX shop_sessions_user ON shop_sessions(user_id);
