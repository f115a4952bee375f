-- Installment plans (one per order: a new plan replaces a pending one) and
-- their periods, each with its own trade number, paid in order. A period's
-- fine is rewritten by the daily job while it is unpaid.

CREATE TABLE shop_installment_plans (
    id         BIGINT PRIMARY KEY,
    order_id   BIGINT NOT NULL UNIQUE,
    user_id    BIGINT NOT NULL,
    periods    INT NOT NULL,
    fee_rate   NUMERIC(10,6) NOT NULL,
    total      NUMERIC(20,2) NOT NULL,
    currency   CHAR(3) NOT NULL,
    status     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE shop_installment_periods (
    plan_id        BIGINT NOT NULL,
    idx            INT NOT NULL,
    no             TEXT NOT NULL UNIQUE,
    base           NUMERIC(20,2) NOT NULL,
    fee            NUMERIC(20,2) NOT NULL,
    fine           NUMERIC(20,2) NOT NULL,
    currency       CHAR(3) NOT NULL,
    due_at         TIMESTAMPTZ NOT NULL,
    payment_method TEXT,
    payment_no     TEXT,
    paid_at        TIMESTAMPTZ,
    PRIMARY KEY (plan_id, idx)
);
CREATE INDEX shop_installment_periods_due ON shop_installment_periods(due_at);
