-- Flash sales and the buyers holding one of their units (one per buyer:
-- the primary key). A buyer's row goes with the order's close.

CREATE TABLE shop_flash_sales (
    id         BIGINT PRIMARY KEY,
    product_id BIGINT NOT NULL,
    sku_id     BIGINT NOT NULL,
    price      DECIMAL(20,2) NOT NULL,
    currency   CHAR(3)       NOT NULL,
    quantity   INT           NOT NULL,
    starts_at  DATETIME(6)   NOT NULL,
    ends_at    DATETIME(6)   NOT NULL,
    created_at DATETIME(6)   NOT NULL,
    FOREIGN KEY (product_id) REFERENCES shop_products(id),
    FOREIGN KEY (sku_id) REFERENCES shop_skus(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX shop_flash_sales_sku ON shop_flash_sales(sku_id, starts_at);
CREATE INDEX shop_flash_sales_ends ON shop_flash_sales(ends_at);

CREATE TABLE shop_flash_sale_buyers (
    sale_id  BIGINT NOT NULL,
    user_id  BIGINT NOT NULL,
    order_id BIGINT NOT NULL UNIQUE,
    PRIMARY KEY (sale_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
