//! MySQL / MariaDB (InnoDB, REPEATABLE READ).
//!
//! Encoding: money is `DECIMAL` beside a `currency` column; times are
//! `DATETIME(6)` holding UTC, bound from the shop's clock, and every session
//! runs with `time_zone = '+00:00'`.
//!
//! Concurrency: a plain `SELECT` inside an InnoDB transaction reads the
//! transaction's snapshot, so no decision is ever taken on one. Race-sensitive
//! checks are conditional `UPDATE`s (whose `WHERE` reads the latest committed
//! row and locks it) or unique keys; a read that a write depends on is a
//! locking read (`FOR UPDATE` / `LOCK IN SHARE MODE`) taken after the
//! aggregate's row (order, product) is locked. Rows of different SKUs are
//! locked in id order. Each atomic write runs in
//! [`retry_rolled_back`](crate::common::retry_rolled_back), so deadlocks
//! (1213) and lock wait timeouts (1205) are retried transparently.
//!
//! Row counts: sqlx connects with `CLIENT_FOUND_ROWS`, so `rows_affected`
//! counts the rows an `UPDATE` matched, also when it wrote identical values.

mod accounts;
mod catalog;
mod orders;
mod refunds;
mod users;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::mysql::{MySqlPoolOptions, MySqlRow};
use sqlx::{Column, MySql, MySqlPool, Row, Transaction, TypeInfo};

use crate::common::{db_err, Cols};
use shop_core::Result;

/// All of shop-core's store ports on one MySQL or MariaDB database.
#[derive(Debug, Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
}

impl MySqlStore {
    /// The pool size [`MySqlStore::connect`] uses.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

    /// Connects to the database at `url`, e.g.
    /// `mysql://shop:secret@127.0.0.1:3306/shop`, with a pool of
    /// [`DEFAULT_MAX_CONNECTIONS`](MySqlStore::DEFAULT_MAX_CONNECTIONS)
    /// connections. Call [`MySqlStore::migrate`] before first use.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, Self::DEFAULT_MAX_CONNECTIONS).await
    }

    /// Like [`MySqlStore::connect`], with a pool of at most `max_connections`
    /// connections.
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Self> {
        let pool = Self::pool_options()
            .max_connections(max_connections)
            .connect(url)
            .await
            .map_err(db_err)?;
        Ok(MySqlStore { pool })
    }

    /// The pool options the store connects with: at most
    /// [`DEFAULT_MAX_CONNECTIONS`](MySqlStore::DEFAULT_MAX_CONNECTIONS)
    /// connections, each setting its session `time_zone` to UTC
    /// (`'+00:00'`) when it opens. Adjust them and pass the pool to
    /// [`MySqlStore::from_pool`] to tune the pool.
    pub fn pool_options() -> MySqlPoolOptions {
        MySqlPoolOptions::new()
            .max_connections(Self::DEFAULT_MAX_CONNECTIONS)
            // No ping before each use (a round trip per statement batch):
            // a connection the server dropped fails its first statement
            // (`Unavailable`) and is replaced.
            .test_before_acquire(false)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    sqlx::query("SET time_zone = '+00:00'")
                        .execute(conn)
                        .await
                        .map(|_| ())
                })
            })
    }

    /// Wraps an existing pool. Its connections must run with the session
    /// `time_zone` set to `'+00:00'` (as sqlx's default connect options and
    /// [`MySqlStore::pool_options`] do).
    pub fn from_pool(pool: MySqlPool) -> Self {
        MySqlStore { pool }
    }

    /// The pool, for the application's own queries.
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// Creates or upgrades the schema (`migrations/mysql`).
    pub async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations/mysql")
            .run(&self.pool)
            .await
            .map_err(|e| db_err(e.into()))?;
        self.fill_search_text().await
    }

    /// Writes the search text of products stored before it existed, in
    /// chunks (a no-op once every product has one).
    async fn fill_search_text(&self) -> Result<()> {
        loop {
            let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
                "SELECT id, title, long_title, description FROM products \
                 WHERE search_text IS NULL LIMIT 500",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
            if rows.is_empty() {
                return Ok(());
            }
            for (id, title, long_title, description) in rows {
                sqlx::query("UPDATE products SET search_text = ? WHERE id = ?")
                    .bind(shop_core::catalog::search_text(
                        &title,
                        &long_title,
                        &description,
                    ))
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
            }
        }
    }

    /// A new transaction.
    async fn begin(&self) -> Result<Transaction<'static, MySql>> {
        self.pool.begin().await.map_err(db_err)
    }
}

/// A text column. Columns with a binary collation (`utf8mb4_bin`: codes,
/// numbers, tokens, paths) carry MySQL's BINARY flag, which sqlx reports as
/// `VARBINARY`; their bytes are still UTF-8 text, decoded (and checked) as
/// such.
fn text<T>(row: &MySqlRow, col: &str) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, MySql> + sqlx::Type<MySql>,
{
    match row.try_get(col) {
        Err(sqlx::Error::ColumnDecode { .. }) if is_binary_text(row, col) => {
            row.try_get_unchecked(col).map_err(db_err)
        }
        other => other.map_err(db_err),
    }
}

/// Whether `col` is a `CHAR`/`VARCHAR` flagged binary by its collation.
fn is_binary_text(row: &MySqlRow, col: &str) -> bool {
    row.try_column(col)
        .is_ok_and(|c| matches!(c.type_info().name(), "BINARY" | "VARBINARY"))
}

impl Cols for MySqlRow {
    fn int(&self, col: &str) -> Result<i64> {
        // sqlx decodes every signed integer width (INT, BIGINT, TINYINT) as i64.
        self.try_get(col).map_err(db_err)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        self.try_get(col).map_err(db_err)
    }
    fn text(&self, col: &str) -> Result<String> {
        text(self, col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        text(self, col)
    }
    fn flag(&self, col: &str) -> Result<bool> {
        self.try_get(col).map_err(db_err)
    }
    fn decimal(&self, col: &str) -> Result<Decimal> {
        self.try_get(col).map_err(db_err)
    }
    fn time(&self, col: &str) -> Result<DateTime<Utc>> {
        self.try_get(col).map_err(db_err)
    }
    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>> {
        self.try_get(col).map_err(db_err)
    }
}
