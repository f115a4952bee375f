//! PostgreSQL (15 and later).
//!
//! Encoding: money is `NUMERIC` beside a `currency` column, times are
//! `TIMESTAMPTZ`. Transactions run at the default READ COMMITTED level:
//! each race-sensitive check is the `WHERE` clause of the write itself,
//! which PostgreSQL re-evaluates on the newest row version after waiting for
//! a concurrent writer, and a read-check-write first locks the row it is
//! about with `SELECT … FOR UPDATE` (each later statement then reads the
//! latest committed rows). Keywords are matched with `LIKE` on the search
//! text, served by a pg_trgm GIN index where the extension is available.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::Row;

use super::{binder, decode_cols, dialect, statements, Backend};
use crate::error::db_err;
use crate::rows::Cols;
use crate::sql::Sql;
use crate::SqlStore;
use shop_core::Result;

dialect!(
    "The PostgreSQL dialect (cargo feature `postgres`).",
    Postgres,
    PgArguments,
    |d| d,
    |t| t
);

impl Backend for Postgres {
    const BEGIN_SNAPSHOT: &'static str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

    fn render(sql: &Sql) -> Cow<'_, str> {
        Cow::Owned(sql.numbered())
    }

    statements!(sqlx::Postgres, PgRow, query, "./migrations/postgres");

    // An advisory lock keyed by the text `shop_mig` as a number.
    const LOCK_MIGRATIONS: &'static str = "SELECT pg_advisory_lock(8316019240367647079)";
    const UNLOCK_MIGRATIONS: &'static str = "SELECT pg_advisory_unlock(8316019240367647079)";
}

impl SqlStore<Postgres> {
    /// The pool size [`PgStore::connect`](SqlStore::connect) uses.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

    /// Connects to the database at `url`, e.g.
    /// `postgres://shop@localhost/shop`, with a pool of
    /// [`DEFAULT_MAX_CONNECTIONS`](Self::DEFAULT_MAX_CONNECTIONS)
    /// connections. Call [`SqlStore::migrate`] before first use.
    pub async fn connect(url: &str) -> Result<Self> {
        let options: PgConnectOptions = url.parse().map_err(db_err)?;
        Self::connect_with(options, Self::DEFAULT_MAX_CONNECTIONS).await
    }

    /// Connects with explicit options (e.g. a `search_path` or an
    /// `application_name`) and a pool of at most `max_connections`.
    pub async fn connect_with(options: PgConnectOptions, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // No ping before each use (a round trip per statement batch):
            // a connection the server dropped fails its first statement
            // (`Unavailable`) and is replaced.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(db_err)?;
        Ok(SqlStore::from_pool(pool))
    }
}

/// Decodes the first of `T`'s widths that the column has.
fn widen(row: &PgRow, col: &str) -> Result<Option<i64>> {
    let e = match row.try_get::<Option<i64>, _>(col) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    if let Ok(v) = row.try_get::<Option<i32>, _>(col) {
        return Ok(v.map(i64::from));
    }
    if let Ok(v) = row.try_get::<Option<i16>, _>(col) {
        return Ok(v.map(i64::from));
    }
    // SUM over BIGINT is NUMERIC.
    if let Ok(v) = row.try_get::<Option<Decimal>, _>(col) {
        return v
            .map(|d| i64::try_from(d).map_err(|_| crate::error::corrupt(col, &d.to_string())))
            .transpose();
    }
    Err(db_err(e))
}

impl Cols for PgRow {
    fn int(&self, col: &str) -> Result<i64> {
        widen(self, col)?.ok_or_else(|| crate::error::corrupt(col, "NULL"))
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        widen(self, col)
    }
    decode_cols!(
        text -> String,
        opt_text -> Option<String>,
        flag -> bool,
        decimal -> Decimal,
        time -> DateTime<Utc>,
        opt_time -> Option<DateTime<Utc>>,
    );
}
