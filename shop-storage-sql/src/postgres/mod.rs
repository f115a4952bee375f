//! PostgreSQL (15 and later).
//!
//! Encoding: money is `NUMERIC` beside a `currency` column, times are
//! `TIMESTAMPTZ` bound from the shop's clock. Transactions run at the
//! default READ COMMITTED level, so each race-sensitive check is the `WHERE`
//! clause of the write itself (`stock >= $1`, `used < total`,
//! `status = $2`), which PostgreSQL re-evaluates on the newest row version
//! after waiting for a concurrent writer; a read-check-write (refunds,
//! reviews, product stats) first locks the row it is about with
//! `SELECT … FOR UPDATE`. Rows are locked in one order (SKUs by id, then the
//! coupon, then its hold) and a transaction the server rolls back for a
//! deadlock or a serialization failure is run again.

mod accounts;
mod catalog;
mod orders;
mod placement;
mod refunds;
mod users;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, Row, Transaction};

use crate::common::{db_err, Cols};
use shop_core::Result;

/// All of shop-core's store ports on one PostgreSQL database (or one schema
/// of it, chosen with `search_path`).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// The pool size [`PgStore::connect`] uses.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

    /// Connects to the database at `url`, e.g.
    /// `postgres://shop@localhost/shop`, with a pool of
    /// [`PgStore::DEFAULT_MAX_CONNECTIONS`] connections. Call
    /// [`PgStore::migrate`] before first use.
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
        Ok(PgStore { pool })
    }

    /// Wraps an existing pool.
    pub fn from_pool(pool: PgPool) -> Self {
        PgStore { pool }
    }

    /// The pool, for the application's own queries.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates or upgrades the schema (`migrations/postgres`) in the first
    /// schema of the connections' `search_path`.
    pub async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations/postgres")
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
                sqlx::query("UPDATE products SET search_text = $1 WHERE id = $2")
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

    /// A READ COMMITTED transaction.
    async fn begin(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(db_err)
    }
}

impl Cols for PgRow {
    fn int(&self, col: &str) -> Result<i64> {
        match self.try_get::<i64, _>(col) {
            Ok(v) => Ok(v),
            Err(e) => self
                .try_get::<i32, _>(col)
                .map(i64::from)
                .map_err(|_| db_err(e)),
        }
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        match self.try_get::<Option<i64>, _>(col) {
            Ok(v) => Ok(v),
            Err(e) => self
                .try_get::<Option<i32>, _>(col)
                .map(|v| v.map(i64::from))
                .map_err(|_| db_err(e)),
        }
    }
    fn text(&self, col: &str) -> Result<String> {
        self.try_get(col).map_err(db_err)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        self.try_get(col).map_err(db_err)
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
