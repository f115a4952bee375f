-- Installment plans (one per order: a new plan replaces a pending one) and
-- their periods, each with its own trade number, paid in order. A period's
-- fine is rewritten by the daily job while it is unpaid.

CREATE TABLE shop_installment_plans (
    id         BIGINT PRIMARY KEY,
    order_id   BIGINT NOT NULL UNIQUE,
    user_id    BIGINT NOT NULL,
    periods    INT NOT NULL,
    fee_rate   DECIMAL(10,6) NOT NULL,
    total      DECIMAL(20,2) NOT NULL,
    currency   CHAR(3) NOT NULL,
    status     VARCHAR(16) NOT NULL,
    created_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE shop_installment_periods (
    plan_id        BIGINT NOT NULL,
    idx            INT NOT NULL,
    no             VARCHAR(64) NOT NULL UNIQUE,
    base           DECIMAL(20,2) NOT NULL,
    fee            DECIMAL(20,2) NOT NULL,
    fine           DECIMAL(20,2) NOT NULL,
    currency       CHAR(3) NOT NULL,
    due_at         DATETIME(6) NOT NULL,
    payment_method VARCHAR(255),
    payment_no     VARCHAR(255),
    paid_at        DATETIME(6),
    PRIMARY KEY (plan_id, idx)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX shop_installment_periods_due ON shop_installment_periods(due_at);
