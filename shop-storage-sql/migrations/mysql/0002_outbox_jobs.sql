-- The outbox, its listeners' progress, the job runner's leases, and the
-- language of each account.

ALTER TABLE shop_accounts ADD COLUMN locale VARCHAR(16) NOT NULL DEFAULT 'en';

-- Events recorded by the write that caused them, numbered by AUTO_INCREMENT
-- (numbers follow insertion, not commit: see shop_core::outbox on gaps).
CREATE TABLE shop_outbox (
    seq            BIGINT       AUTO_INCREMENT PRIMARY KEY,
    aggregate_type VARCHAR(32)  NOT NULL,
    aggregate_id   BIGINT       NOT NULL,
    event_type     VARCHAR(64)  NOT NULL,
    version        INT          NOT NULL,
    payload        MEDIUMTEXT   NOT NULL,
    occurred_at    DATETIME(6)  NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE shop_outbox_listeners (
    name            VARCHAR(191) COLLATE utf8mb4_bin PRIMARY KEY,
    position        BIGINT       NOT NULL,
    attempts        INT          NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(6)  NOT NULL,
    last_error      TEXT,
    lease_owner     VARCHAR(191),
    lease_until     DATETIME(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE shop_jobs (
    name        VARCHAR(191) COLLATE utf8mb4_bin PRIMARY KEY,
    tick        DATETIME(6)  NOT NULL,
    done_tick   DATETIME(6),
    node        VARCHAR(191) NOT NULL,
    started_at  DATETIME(6)  NOT NULL,
    finished_at DATETIME(6),
    outcome     VARCHAR(16),
    detail      TEXT,
    lease_owner VARCHAR(191),
    lease_until DATETIME(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
