//! SQLite, the embedded default.
//!
//! Encoding: money is exact decimal TEXT beside a `currency` column; times
//! are INTEGER microseconds since the Unix epoch (UTC). The database runs in
//! WAL mode; every atomic write is one `BEGIN IMMEDIATE` transaction, which
//! takes SQLite's single write lock up front, so a read-check-write inside it
//! cannot interleave with another writer (in this or any other process).
//! Keywords of three or more characters are looked up in an FTS5 trigram
//! index of the products' search text.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Pool, Row};

use super::{binder, decode_cols, dialect, statements, Backend};
use crate::error::{corrupt, db_err};
use crate::rows::{like_pattern, Cols};
use crate::sql::Sql;
use crate::SqlStore;
use shop_core::Result;

dialect!(
    "The SQLite dialect (cargo feature `sqlite`, on by default).",
    Sqlite,
    SqliteArguments<'q>,
    |d| d.to_string(),
    |t| t.timestamp_micros()
);

impl Backend for Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const BEGIN_SNAPSHOT: &'static str = "BEGIN";
    const FOR_UPDATE: &'static str = "";
    const SKIP_LOCKED: &'static str = "";

    fn numeric_key(col: &str) -> String {
        // Decimal TEXT compares as text; as REAL it orders 2-decimal
        // amounts exactly (and the listing indexes use the same expression).
        format!("CAST({col} AS REAL)")
    }

    fn push_keyword(sql: &mut Sql, keyword: &str) {
        if keyword.chars().count() >= 3 {
            // The trigram index: a quoted phrase is a substring.
            sql.push(" AND id IN (SELECT rowid FROM shop_products_search WHERE shop_products_search MATCH ")
                .push_bind(format!("\"{}\"", keyword.replace('"', "\"\"")))
                .push(")");
        } else {
            sql.push(" AND search_text LIKE ")
                .push_bind(like_pattern(keyword))
                .push(" ESCAPE '\\'");
        }
    }

    statements!(sqlx::Sqlite, SqliteRow, query, "./migrations/sqlite");

    // Each migration runs in a BEGIN IMMEDIATE transaction that checks
    // again whether it was applied: the write lock is the migration lock.
    const LOCK_MIGRATIONS: &'static str = "";
    const UNLOCK_MIGRATIONS: &'static str = "";

    fn after_migrations(pool: &Pool<sqlx::Sqlite>) -> impl Future<Output = Result<()>> + Send + '_ {
        forget_search_index_statistics(pool)
    }
}

impl SqlStore<Sqlite> {
    /// Opens (creating if missing) the database at `url`, e.g.
    /// `sqlite://shop.db`, in WAL mode with a 30 s busy timeout and a pool of
    /// 8 connections. Call [`SqlStore::migrate`] before first use.
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
            // A connection still inside a transaction when it comes back
            // (nothing of ours leaves one: `SqlStore::write` begins on a
            // task of its own) is closed, which rolls it back, rather than
            // lent out holding the database's write lock.
            .after_release(|conn, _| {
                Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
            })
            .connect_with(options)
            .await
            .map_err(db_err)?;
        Ok(SqlStore::from_pool(pool))
    }
}

/// Drops ANALYZE's statistics about the keyword index's FTS5 shadow tables
/// (`shop_products_search_*`): with STAT4 samples for them, SQLite re-plans
/// every one of FTS5's internal lookups on each step, which makes a keyword
/// search several times slower. Run at each start, so an `ANALYZE` (or
/// `PRAGMA optimize`) of the whole database is harmless after the next one.
async fn forget_search_index_statistics(pool: &Pool<sqlx::Sqlite>) -> Result<()> {
    let mut forgot = 0;
    for table in ["sqlite_stat1", "sqlite_stat4"] {
        let exists: Option<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?")
                .bind(table)
                .fetch_optional(pool)
                .await
                .map_err(db_err)?;
        if exists.is_some() {
            forgot += sqlx::query(&format!(
                "DELETE FROM {table} WHERE tbl LIKE 'shop\\_products\\_search%' ESCAPE '\\'"
            ))
            .execute(pool)
            .await
            .map_err(db_err)?
            .rows_affected();
        }
    }
    if forgot > 0 {
        // Connections read statistics with the schema: a schema change
        // makes every open connection read both again.
        sqlx::raw_sql(
            "CREATE TABLE shop_reload_statistics (x INTEGER); DROP TABLE shop_reload_statistics;",
        )
        .execute(pool)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

fn from_micros(col: &str, v: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(v).ok_or_else(|| corrupt(col, &v.to_string()))
}

impl Cols for SqliteRow {
    decode_cols!(
        int -> i64,
        opt_int -> Option<i64>,
        text -> String,
        opt_text -> Option<String>,
        flag -> bool,
    );
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
