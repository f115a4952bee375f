-- shop schema, MySQL/MariaDB dialect: money as DECIMAL, times as DATETIME(6)
-- holding UTC (the store binds every time; sessions run with time_zone
-- '+00:00'). Text is utf8mb4; keys that must match exactly (coupon codes,
-- order and refund numbers, submit tokens, category paths) use the binary
-- collation, so `=` and unique keys are case-sensitive as on the other
-- dialects.

CREATE TABLE categories (
    id           BIGINT PRIMARY KEY,
    name         TEXT    NOT NULL,
    parent_id    BIGINT REFERENCES categories(id),
    is_directory BOOLEAN NOT NULL,
    level        INT NOT NULL,
    path         VARCHAR(768)    COLLATE utf8mb4_bin NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX categories_path ON categories(path);

CREATE TABLE products (
    id           BIGINT PRIMARY KEY,
    kind         VARCHAR(255)    NOT NULL,
    title        TEXT    NOT NULL,
    long_title   TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    image        TEXT    NOT NULL,
    on_sale      BOOLEAN NOT NULL,
    category_id  BIGINT REFERENCES categories(id),
    properties   TEXT    NOT NULL,
    rating       DECIMAL(5,2)    NOT NULL,
    sold_count   BIGINT NOT NULL,
    review_count BIGINT NOT NULL,
    price        DECIMAL(20,2)    NOT NULL,
    currency     CHAR(3)    NOT NULL,
    created_at   DATETIME(6) NOT NULL,
    updated_at   DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX products_category ON products(category_id);

CREATE TABLE skus (
    id          BIGINT PRIMARY KEY,
    product_id  BIGINT NOT NULL REFERENCES products(id),
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL,
    price       DECIMAL(20,2)    NOT NULL,
    currency    CHAR(3)    NOT NULL,
    stock       INT NOT NULL CHECK (stock >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX skus_product ON skus(product_id);

CREATE TABLE addresses (
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
CREATE INDEX addresses_user ON addresses(user_id);

CREATE TABLE favorites (
    user_id    BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (user_id, product_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE cart_items (
    user_id  BIGINT NOT NULL,
    sku_id   BIGINT NOT NULL,
    quantity INT NOT NULL CHECK (quantity > 0),
    added_at DATETIME(6) NOT NULL,
    PRIMARY KEY (user_id, sku_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE coupons (
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

CREATE TABLE submit_tokens (
    token      VARCHAR(255)    COLLATE utf8mb4_bin PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    used_at    DATETIME(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE orders (
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
CREATE INDEX orders_user ON orders(user_id, created_at);
CREATE INDEX orders_expiry ON orders(status, expires_at, id);
-- delete_coupon looks for orders using a coupon with a locking read.
CREATE INDEX orders_coupon ON orders(coupon_id);

CREATE TABLE order_items (
    id          BIGINT PRIMARY KEY,
    order_id    BIGINT NOT NULL REFERENCES orders(id),
    line_no     INT NOT NULL,
    product_id  BIGINT NOT NULL,
    sku_id      BIGINT NOT NULL,
    quantity    INT NOT NULL CHECK (quantity > 0),
    unit_price  DECIMAL(20,2)    NOT NULL,
    rating      INT,
    review      TEXT,
    reviewed_at DATETIME(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
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
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE refunds (
    id          BIGINT PRIMARY KEY,
    refund_no   VARCHAR(255)    COLLATE utf8mb4_bin NOT NULL UNIQUE,
    order_id    BIGINT NOT NULL REFERENCES orders(id),
    amount      DECIMAL(20,2)    NOT NULL,
    currency    CHAR(3)    NOT NULL,
    reason      TEXT    NOT NULL,
    status      VARCHAR(255)    NOT NULL,
    created_at  DATETIME(6) NOT NULL,
    finished_at DATETIME(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX refunds_order ON refunds(order_id);

CREATE TABLE refund_lines (
    refund_id BIGINT NOT NULL REFERENCES refunds(id),
    line_no   INT NOT NULL,
    item_id   BIGINT NOT NULL,
    quantity  INT NOT NULL,
    PRIMARY KEY (refund_id, line_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
