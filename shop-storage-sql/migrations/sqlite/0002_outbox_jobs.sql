-- The outbox, its listeners' progress, the job runner's leases, and the
-- language of each account.

ALTER TABLE shop_accounts ADD COLUMN locale TEXT NOT NULL DEFAULT 'en';

-- Events recorded by the write that caused them. AUTOINCREMENT: a number is
-- never handed out twice, even after the newest rows were deleted.
CREATE TABLE shop_outbox (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    aggregate_type TEXT    NOT NULL,
    aggregate_id   INTEGER NOT NULL,
    event_type     TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    payload        TEXT    NOT NULL,
    occurred_at    INTEGER NOT NULL
);

CREATE TABLE shop_outbox_listeners (
    name            TEXT    PRIMARY KEY,
    position        INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    lease_owner     TEXT,
    lease_until     INTEGER
);

CREATE TABLE shop_jobs (
    name        TEXT    PRIMARY KEY,
    tick        INTEGER NOT NULL,
    done_tick   INTEGER,
    node        TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    outcome     TEXT,
    detail      TEXT,
    lease_owner TEXT,
    lease_until INTEGER
);
