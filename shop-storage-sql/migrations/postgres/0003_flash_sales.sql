-- Flash sales and the buyers holding one of their units (one per buyer:
-- the primary key). A buyer's row goes with the order's close.

CREATE TABLE shop_flash_sales (
    id         BIGINT PRIMARY KEY,
    product_id BIGINT NOT NULL REFERENCES shop_products(id),
    sku_id     BIGINT NOT NULL REFERENCES shop_skus(id),
    price      NUMERIC(20,2) NOT NULL,
    currency   CHAR(3)       NOT NULL,
    quantity   INTEGER       NOT NULL,
    starts_at  TIMESTAMPTZ   NOT NULL,
    ends_at    TIMESTAMPTZ   NOT NULL,
    created_at TIMESTAMPTZ   NOT NULL
);
CREATE INDEX shop_flash_sales_sku ON shop_flash_sales(sku_id, starts_at);
CREATE INDEX shop_flash_sales_ends ON shop_flash_sales(ends_at);

CREATE TABLE shop_flash_sale_buyers (
    sale_id  BIGINT NOT NULL,
    user_id  BIGINT NOT NULL,
    order_id BIGINT NOT NULL UNIQUE,
    PRIMARY KEY (sale_id, user_id)
);
