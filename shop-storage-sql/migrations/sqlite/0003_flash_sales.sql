-- Flash sales and the buyers holding one of their units (one per buyer:
-- the primary key). A buyer's row goes with the order's close.

CREATE TABLE shop_flash_sales (
    id         INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES shop_products(id),
    sku_id     INTEGER NOT NULL REFERENCES shop_skus(id),
    price      TEXT    NOT NULL,
    currency   TEXT    NOT NULL,
    quantity   INTEGER NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX shop_flash_sales_sku ON shop_flash_sales(sku_id, starts_at);
CREATE INDEX shop_flash_sales_ends ON shop_flash_sales(ends_at);

CREATE TABLE shop_flash_sale_buyers (
    sale_id  INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    order_id INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (sale_id, user_id)
);
