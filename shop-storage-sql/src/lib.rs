//! # shop-storage-sql
//!
//! The storage ports of [`shop_core`] on [sqlx](https://docs.rs/sqlx), for
//! SQLite (the embedded default), PostgreSQL 15+ and MySQL / MariaDB
//! (InnoDB). One generic store, [`SqlStore`], holds every aggregate's SQL
//! once; a [`Dialect`] adds only what really differs between the databases
//! (placeholders, how money and times are encoded, how a write transaction
//! begins, row locks, the keyword index). [`SqliteStore`], [`PgStore`] and
//! [`MySqlStore`] name the three; each implements every store trait and
//! passes `shop_core::conformance`.
//!
//! Each database is a cargo feature: `sqlite` (default), `postgres`,
//! `mysql`. A build with only `postgres` compiles neither the SQLite nor the
//! MySQL driver. [`sqlx`] is re-exported so applications use the driver
//! version the stores are built with.
//!
//! Race-sensitive rules are enforced in the atomic write so they hold across
//! processes: stock is decremented with `UPDATE … WHERE stock >= ?`, a
//! coupon's use with `UPDATE … WHERE used < total`, once-per-user by the
//! primary key of `shop_coupon_holds`, and every state change is
//! `UPDATE … WHERE status = ?`. A read-check-write (refunds, reviews, stock
//! adjustments, product statistics) first locks the row it is about
//! (`SELECT … FOR UPDATE`; on SQLite the write transaction holds the
//! database's write lock), and a transaction the database rolls back for a
//! deadlock or a serialization failure runs again. Times are bound from the
//! shop's clock, never the database's `now()`. Every decision (which line is
//! short of stock, why a coupon was refused, which states count as sold)
//! is a function of `shop_core` that the store asks.
//!
//! Tables are prefixed `shop_` and the applied migrations are recorded in
//! `shop_migrations`, so the shop's schema lives beside an application's
//! own tables and its own sqlx migrations (see [`SqlStore::migrate`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> shop_core::Result<()> {
//! use std::sync::Arc;
//! use shop_core::{Shop, Stores};
//! use shop_storage_sql::SqliteStore;
//!
//! let dir = std::env::temp_dir().join(format!("shop-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let url = format!("sqlite://{}/shop.db", dir.display());
//! let store = SqliteStore::connect(&url).await?;
//! store.migrate().await?;
//! let shop = Shop::builder(Stores::from_backend(Arc::new(store))).build();
//! assert!(shop.category_tree().await?.is_empty());
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!("shop-storage-sql needs at least one of the features `sqlite`, `postgres`, `mysql`");

pub mod dialect;
mod error;
mod migrate;
mod rows;
mod sql;

mod accounts;
mod carts;
mod catalog;
mod coupons;
mod crowdfunding;
mod installment;
mod orders;
mod outbox;
mod placement;
mod refunds;
mod seckill;
mod users;

use sqlx::pool::PoolConnection;
use sqlx::Pool;

pub use dialect::Dialect;
/// All of shop-core's store ports on one SQLite database.
#[cfg(feature = "sqlite")]
pub type SqliteStore = SqlStore<dialect::Sqlite>;
/// All of shop-core's store ports on one PostgreSQL database (or one schema
/// of it, chosen with `search_path`).
#[cfg(feature = "postgres")]
pub type PgStore = SqlStore<dialect::Postgres>;
/// All of shop-core's store ports on one MySQL or MariaDB database.
#[cfg(feature = "mysql")]
pub type MySqlStore = SqlStore<dialect::MySql>;
use dialect::Tx;
/// The sqlx version these stores are built with, so applications can use
/// matching pool and driver types.
pub use sqlx;

use crate::error::db_err;
use crate::sql::Sql;
use shop_core::events::EventRecord;
use shop_core::{Error, Result, StoreError};

/// Every storage port of `shop_core` on one database of dialect `D`.
/// Usually named through [`SqliteStore`], [`PgStore`] or [`MySqlStore`],
/// whose `connect` functions open one.
pub struct SqlStore<D: Dialect> {
    pool: Pool<D::Db>,
}

impl<D: Dialect> Clone for SqlStore<D> {
    fn clone(&self) -> Self {
        SqlStore {
            pool: self.pool.clone(),
        }
    }
}

impl<D: Dialect> std::fmt::Debug for SqlStore<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("pool", &self.pool)
            .finish()
    }
}

impl<D: Dialect> SqlStore<D> {
    /// Wraps an existing pool. A SQLite pool should enable WAL, a busy
    /// timeout and foreign keys as [`SqliteStore::connect`] does; a MySQL
    /// pool's connections must run with the session `time_zone` set to
    /// `'+00:00'` (as `MySqlStore::pool_options` does).
    pub fn from_pool(pool: Pool<D::Db>) -> Self {
        SqlStore { pool }
    }

    /// The pool, for the application's own queries.
    pub fn pool(&self) -> &Pool<D::Db> {
        &self.pool
    }

    /// Creates or upgrades the shop's schema: the `shop_*` tables, with the
    /// applied migrations recorded in `shop_migrations` (never in sqlx's
    /// `_sqlx_migrations`, which the application's own migrations may use).
    /// Safe to run at every start and from several processes at once.
    /// Refuses a database holding the unprefixed tables of a development
    /// version of this crate, and a migration that failed part-way before.
    pub async fn migrate(&self) -> Result<()> {
        migrate::run::<D>(&self.pool).await
    }

    /// A pooled connection.
    async fn conn(&self) -> Result<PoolConnection<D::Db>> {
        self.pool.acquire().await.map_err(db_err)
    }

    /// Runs one statement on a pooled connection; the rows it matched.
    async fn execute(&self, sql: Sql) -> Result<u64> {
        D::execute(&mut *self.conn().await?, &sql).await
    }

    /// Runs one statement and records `events` with it, in one transaction
    /// (events only when it matched a row); the rows it matched.
    async fn execute_with(&self, sql: Sql, events: &[EventRecord]) -> Result<u64> {
        if events.is_empty() {
            return self.execute(sql).await;
        }
        let mut tx = self.write().await?;
        let done = D::execute(&mut tx, &sql).await?;
        if done > 0 {
            commit_with::<D>(tx, events).await?;
        }
        Ok(done)
    }

    /// Runs one query on a pooled connection; every row, mapped.
    async fn all<T>(&self, sql: Sql, map: impl Fn(&D::Row) -> Result<T>) -> Result<Vec<T>> {
        let rows = D::fetch_all(&mut *self.conn().await?, &sql).await?;
        rows.iter().map(map).collect()
    }

    /// Runs one query on a pooled connection; its first row, mapped.
    async fn one<T>(&self, sql: Sql, map: impl Fn(&D::Row) -> Result<T>) -> Result<Option<T>> {
        let row = D::fetch_optional(&mut *self.conn().await?, &sql).await?;
        row.as_ref().map(map).transpose()
    }

    /// The rows of `table` whose `id` is one of `ids`, by id, mapped.
    async fn by_ids<T>(
        &self,
        cols: &str,
        table: &str,
        ids: &[i64],
        map: impl Fn(&D::Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(format!("SELECT {cols} FROM {table} WHERE id IN "));
        sql.push_list(ids.iter().copied()).push(" ORDER BY id");
        self.all(sql, map).await
    }

    /// Begins an atomic write.
    async fn write(&self) -> Result<Tx<D>> {
        self.begin(D::BEGIN_WRITE).await
    }

    /// Begins a read-only transaction on one snapshot.
    async fn snapshot(&self) -> Result<Tx<D>> {
        self.begin(D::BEGIN_SNAPSHOT).await
    }

    /// Begins a transaction with `statement` on a task of its own, so a
    /// caller cancelled while the `BEGIN` is in flight (a request dropped by
    /// its client or a timeout) never leaves a pooled connection inside a
    /// transaction nobody owns: the transaction is begun all the same, then
    /// dropped, which rolls it back before the connection is used again.
    /// (sqlx's SQLite driver runs a `BEGIN` whose caller went away and
    /// forgets it; on SQLite such a connection would hold the database's
    /// write lock.)
    async fn begin(&self, statement: &'static str) -> Result<Tx<D>> {
        let pool = self.pool.clone();
        tokio::spawn(async move { pool.begin_with(statement).await })
            .await
            .map_err(|e| Error::Store(StoreError::Unavailable { source: e.into() }))?
            .map_err(db_err)
    }
}

/// Commits a transaction.
async fn commit<D: Dialect>(tx: Tx<D>) -> Result<()> {
    tx.commit().await.map_err(db_err)
}

/// Records `events` in the outbox inside `tx`, then commits: the last
/// statement of every write that records events, so a transaction holds an
/// uncommitted outbox number only for the time of its commit (see
/// `shop_core::outbox` on gaps).
async fn commit_with<D: Dialect>(mut tx: Tx<D>, events: &[EventRecord]) -> Result<()> {
    outbox::append::<D>(&mut tx, events).await?;
    commit::<D>(tx).await
}
