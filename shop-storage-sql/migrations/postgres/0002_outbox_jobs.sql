-- The outbox, its listeners' progress, the job runner's leases, and the
-- language of each account.

ALTER TABLE shop_accounts ADD COLUMN locale TEXT NOT NULL DEFAULT 'en';

-- Events recorded by the write that caused them, numbered by an identity
-- (numbers follow insertion, not commit: see shop_core::outbox on gaps).
CREATE TABLE shop_outbox (
    seq            BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    aggregate_type TEXT        NOT NULL,
    aggregate_id   BIGINT      NOT NULL,
    event_type     TEXT        NOT NULL,
    version        INTEGER     NOT NULL,
    payload        TEXT        NOT NULL,
    occurred_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE shop_outbox_listeners (
    name            TEXT        PRIMARY KEY,
    position        BIGINT      NOT NULL,
    attempts        INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT,
    lease_owner     TEXT,
    lease_until     TIMESTAMPTZ
);

CREATE TABLE shop_jobs (
    name        TEXT        PRIMARY KEY,
    tick        TIMESTAMPTZ NOT NULL,
    done_tick   TIMESTAMPTZ,
    node        TEXT        NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    outcome     TEXT,
    detail      TEXT,
    lease_owner TEXT,
    lease_until TIMESTAMPTZ
);
