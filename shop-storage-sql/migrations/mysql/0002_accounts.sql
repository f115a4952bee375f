-- Accounts, e-mail verification tokens and sessions (MySQL/MariaDB).
CREATE TABLE accounts (
    id                BIGINT       PRIMARY KEY,
    email             VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL UNIQUE,
    name              VARCHAR(255) NOT NULL,
    password_hash     VARCHAR(255) NOT NULL,
    role              VARCHAR(32)  NOT NULL,
    email_verified_at DATETIME(6),
    created_at        DATETIME(6)  NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE verification_tokens (
    token_hash VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    user_id    BIGINT       NOT NULL REFERENCES accounts(id),
    expires_at DATETIME(6)  NOT NULL,
    used_at    DATETIME(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE sessions (
    token_hash VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    user_id    BIGINT       NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    expires_at DATETIME(6)  NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX sessions_expiry ON sessions(expires_at);
