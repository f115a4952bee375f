-- Installment plans (one per order: a new plan replaces a pending one) and
-- their periods, each with its own trade number, paid in order. A period's
-- fine is rewritten by the daily job while it is unpaid.

CREATE TABLE shop_installment_plans (
    id         INTEGER PRIMARY KEY,
    order_id   INTEGER NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL,
    periods    INTEGER NOT NULL,
    fee_rate   TEXT NOT NULL,
    total      TEXT NOT NULL,
    currency   TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE shop_installment_periods (
    plan_id        INTEGER NOT NULL,
    idx            INTEGER NOT NULL,
    no             TEXT NOT NULL UNIQUE,
    base           TEXT NOT NULL,
    fee            TEXT NOT NULL,
    fine           TEXT NOT NULL,
    currency       TEXT NOT NULL,
    due_at         INTEGER NOT NULL,
    payment_method TEXT,
    payment_no     TEXT,
    paid_at        INTEGER,
    PRIMARY KEY (plan_id, idx)
);
CREATE INDEX shop_installment_periods_due ON shop_installment_periods(due_at);
