//! MySQL / MariaDB (InnoDB, REPEATABLE READ).
//!
//! Encoding: money is `DECIMAL` beside a `currency` column; times are
//! `DATETIME(6)` holding UTC, and every session runs with
//! `time_zone = '+00:00'`.
//!
//! Concurrency: a plain `SELECT` inside an InnoDB transaction reads the
//! snapshot taken by the transaction's first plain read. A read-check-write
//! therefore starts with a locking read (`SELECT … FOR UPDATE`) of the row it
//! is about, before any plain read, so its snapshot is taken after the lock
//! and holds every change the lock waited for; the race-sensitive checks
//! themselves are conditional `UPDATE`s (whose `WHERE` reads the latest
//! committed row) or unique keys. Deadlocks (1213) and lock wait timeouts
//! (1205) are retried.
//!
//! Row counts: sqlx connects with `CLIENT_FOUND_ROWS`, so a statement's
//! count is the rows an `UPDATE` matched, also when it wrote identical
//! values.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::mysql::{MySqlArguments, MySqlPoolOptions, MySqlRow};
use sqlx::{Column, Row, TypeInfo};

use super::{binder, decode_cols, dialect, statements, Backend};
use crate::error::{corrupt, db_err};
use crate::rows::Cols;
use crate::SqlStore;
use shop_core::Result;

dialect!(
    "The MySQL / MariaDB dialect (cargo feature `mysql`).",
    MySql,
    MySqlArguments,
    |d| d,
    |t| t
);

impl Backend for MySql {
    const BEGIN_SNAPSHOT: &'static str = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";

    statements!(sqlx::MySql, MySqlRow, query, "./migrations/mysql");

    const LOCK_MIGRATIONS: &'static str = "SELECT GET_LOCK('shop_migrations', -1)";
    const UNLOCK_MIGRATIONS: &'static str = "SELECT RELEASE_LOCK('shop_migrations')";
}

impl SqlStore<MySql> {
    /// The pool size [`MySqlStore::connect`](SqlStore::connect) uses.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

    /// Connects to the database at `url`, e.g.
    /// `mysql://shop:secret@127.0.0.1:3306/shop`, with a pool of
    /// [`DEFAULT_MAX_CONNECTIONS`](Self::DEFAULT_MAX_CONNECTIONS)
    /// connections. Call [`SqlStore::migrate`] before first use.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, Self::DEFAULT_MAX_CONNECTIONS).await
    }

    /// Like [`connect`](Self::connect), with a pool of at most
    /// `max_connections` connections.
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Self> {
        let pool = Self::pool_options()
            .max_connections(max_connections)
            .connect(url)
            .await
            .map_err(db_err)?;
        Ok(SqlStore::from_pool(pool))
    }

    /// The pool options the store connects with: at most
    /// [`DEFAULT_MAX_CONNECTIONS`](Self::DEFAULT_MAX_CONNECTIONS)
    /// connections, each setting its session `time_zone` to UTC
    /// (`'+00:00'`) when it opens. Adjust them and pass the pool to
    /// [`SqlStore::from_pool`] to tune the pool.
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
}

/// A text column. Columns with a binary collation (`utf8mb4_bin`: codes,
/// numbers, tokens, paths) carry MySQL's BINARY flag, which sqlx reports as
/// `VARBINARY`; their bytes are still UTF-8 text, decoded (and checked) as
/// such.
fn text<T>(row: &MySqlRow, col: &str) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, sqlx::MySql> + sqlx::Type<sqlx::MySql>,
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

/// An integer column of any width, or a whole `DECIMAL` (what `SUM`
/// returns).
fn integer(row: &MySqlRow, col: &str) -> Result<Option<i64>> {
    match row.try_get::<Option<i64>, _>(col) {
        Ok(v) => Ok(v),
        Err(e) => match row.try_get::<Option<Decimal>, _>(col) {
            Ok(v) => v
                .map(|d| i64::try_from(d).map_err(|_| corrupt(col, &d.to_string())))
                .transpose(),
            Err(_) => Err(db_err(e)),
        },
    }
}

impl Cols for MySqlRow {
    fn int(&self, col: &str) -> Result<i64> {
        integer(self, col)?.ok_or_else(|| corrupt(col, "NULL"))
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        integer(self, col)
    }
    fn text(&self, col: &str) -> Result<String> {
        text(self, col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        text(self, col)
    }
    decode_cols!(
        flag -> bool,
        decimal -> Decimal,
        time -> DateTime<Utc>,
        opt_time -> Option<DateTime<Utc>>,
    );
}
