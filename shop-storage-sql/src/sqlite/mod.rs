//! SQLite: the embedded default.
//!
//! Encoding: money is exact decimal TEXT beside a `currency` column; times
//! are INTEGER microseconds since the Unix epoch (UTC). The database runs in
//! WAL mode; every atomic write is one `BEGIN IMMEDIATE` transaction, which
//! takes SQLite's single write lock up front, so a read-check-write inside it
//! cannot interleave with another writer (in this or any other process).

mod accounts;
mod catalog;
mod orders;
mod refunds;
mod users;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use crate::common::{corrupt, db_err, Cols};
use shop_core::Result;

/// All of shop-core's store ports on one SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url`, e.g.
    /// `sqlite://shop.db`, in WAL mode with a 30 s busy timeout and a pool of
    /// 8 connections. Call [`SqliteStore::migrate`] before first use.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(db_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // An embedded database does not drop connections: no ping.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(db_err)?;
        Ok(SqliteStore { pool })
    }

    /// Wraps an existing pool (it should enable WAL, a busy timeout and
    /// foreign keys as [`SqliteStore::connect`] does).
    pub fn from_pool(pool: SqlitePool) -> Self {
        SqliteStore { pool }
    }

    /// The pool, for the application's own queries.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Creates or upgrades the schema (`migrations/sqlite`).
    pub async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await
            .map_err(|e| db_err(e.into()))?;
        self.fill_search_text().await?;
        self.forget_search_index_statistics().await
    }

    /// Drops ANALYZE's statistics about the keyword index's FTS5 shadow
    /// tables (`products_search_*`): with STAT4 samples for them, SQLite
    /// re-plans every one of FTS5's internal lookups on each step, which
    /// makes a keyword search several times slower. Run at each start, so
    /// an `ANALYZE` (or `PRAGMA optimize`) of the whole database is harmless
    /// after the next one.
    async fn forget_search_index_statistics(&self) -> Result<()> {
        let mut forgot = 0;
        for table in ["sqlite_stat1", "sqlite_stat4"] {
            let exists: Option<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
            )
            .bind(table)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
            if exists.is_some() {
                forgot += sqlx::query(&format!(
                    "DELETE FROM {table} WHERE tbl LIKE 'products\\_search%' ESCAPE '\\'"
                ))
                .execute(&self.pool)
                .await
                .map_err(db_err)?
                .rows_affected();
            }
        }
        if forgot > 0 {
            // Connections read statistics with the schema: a schema change
            // makes every open connection read both again.
            sqlx::query("CREATE TABLE shop_reload_statistics (x INTEGER)")
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
            sqlx::query("DROP TABLE shop_reload_statistics")
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
        }
        Ok(())
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

    /// A transaction holding the write lock from its first statement.
    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)
    }
}

/// A time as stored: microseconds since the epoch.
pub(super) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(col: &str, v: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(v).ok_or_else(|| corrupt(col, &v.to_string()))
}

impl Cols for SqliteRow {
    fn int(&self, col: &str) -> Result<i64> {
        self.try_get(col).map_err(db_err)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        self.try_get(col).map_err(db_err)
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
        let text: String = self.try_get(col).map_err(db_err)?;
        Decimal::from_str_exact(&text).map_err(|_| corrupt(col, &text))
    }
    fn time(&self, col: &str) -> Result<DateTime<Utc>> {
        from_micros(col, self.try_get(col).map_err(db_err)?)
    }
    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>> {
        let v: Option<i64> = self.try_get(col).map_err(db_err)?;
        v.map(|v| from_micros(col, v)).transpose()
    }
}
