//! The databases, and only what differs between them: placeholders, how
//! money and times are bound and read, how a write transaction begins, the
//! row-lock clause, the keyword filter, the sort key of a decimal column,
//! and how migrations are locked. Everything else is written once, in the
//! aggregate modules, for every [`Dialect`].

use std::fmt::Debug;
use std::future::Future;

use sqlx::{Database, Pool, Transaction};

use std::borrow::Cow;

use crate::rows::{like_pattern, Cols};
use crate::sql::Sql;
use shop_core::Result;

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "mysql")]
pub use mysql::MySql;
#[cfg(feature = "postgres")]
pub use postgres::Postgres;
#[cfg(feature = "sqlite")]
pub use sqlite::Sqlite;

/// A database the stores run on: [`Sqlite`], [`Postgres`] or [`MySql`],
/// each behind its cargo feature. The trait is sealed: its methods are this
/// crate's own.
pub trait Dialect: sealed::Backend {}

impl<D: sealed::Backend> Dialect for D {}

pub(crate) use sealed::Backend;

/// A connection to dialect `D`'s database.
pub(crate) type Conn<D> = <<D as Backend>::Db as Database>::Connection;
/// A transaction on dialect `D`'s database.
pub(crate) type Tx<D> = Transaction<'static, <D as Backend>::Db>;

mod sealed {
    use super::*;

    /// What a dialect provides; see the module documentation.
    pub trait Backend: Send + Sync + Sized + Debug + 'static {
        /// The sqlx driver.
        type Db: Database;
        /// A result row.
        type Row: Cols + Send + Sync + 'static;

        /// The statement that begins an atomic write.
        const BEGIN_WRITE: &'static str = "BEGIN";
        /// The statement that begins a read-only transaction whose
        /// statements all read one snapshot.
        const BEGIN_SNAPSHOT: &'static str;
        /// Appended to a `SELECT` in a write transaction to lock the rows it
        /// reads until the transaction ends (` FOR UPDATE`); empty on
        /// SQLite, whose write transaction holds the database's write lock.
        const FOR_UPDATE: &'static str = " FOR UPDATE";
        /// Appended to a `SELECT` in a write transaction to lock the rows it
        /// returns and skip those another transaction holds
        /// (` FOR UPDATE SKIP LOCKED`, PostgreSQL and MariaDB ≥ 10.6 / MySQL
        /// 8); empty on SQLite, whose single writer serializes claims.
        const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

        /// The statement's text as the driver wants it: `?` placeholders.
        fn render(sql: &Sql) -> Cow<'_, str> {
            Cow::Borrowed(&sql.text)
        }

        /// The expression a decimal column sorts by.
        fn numeric_key(col: &str) -> String {
            col.to_owned()
        }

        /// Appends ` AND <the product's search text contains keyword>`
        /// (`keyword` is lower-cased and not empty): `LIKE` with `\`, the
        /// default escape character, escaping (spelling the escape out would
        /// need `'\\'` on MySQL, which depends on its NO_BACKSLASH_ESCAPES
        /// mode).
        fn push_keyword(sql: &mut Sql, keyword: &str) {
            sql.push(" AND search_text LIKE ")
                .push_bind(like_pattern(keyword));
        }

        /// Runs a statement; the number of rows it matched.
        fn execute<'a>(
            c: &'a mut Conn<Self>,
            sql: &'a Sql,
        ) -> impl Future<Output = Result<u64>> + Send + 'a;

        /// Runs a query; every row.
        fn fetch_all<'a>(
            c: &'a mut Conn<Self>,
            sql: &'a Sql,
        ) -> impl Future<Output = Result<Vec<Self::Row>>> + Send + 'a;

        /// Runs a query; its first row, if any.
        fn fetch_optional<'a>(
            c: &'a mut Conn<Self>,
            sql: &'a Sql,
        ) -> impl Future<Output = Result<Option<Self::Row>>> + Send + 'a;

        /// The shop's migrations for this database.
        fn migrator() -> &'static sqlx::migrate::Migrator;

        /// Runs a script of several statements, as a migration does.
        fn run_script<'a>(
            c: &'a mut Conn<Self>,
            script: &'a str,
        ) -> impl Future<Output = Result<()>> + Send + 'a;

        /// The statement that takes the lock keeping two processes from
        /// migrating at once, held by the connection until
        /// [`Backend::UNLOCK_MIGRATIONS`]; empty when each migration's
        /// transaction is lock enough.
        const LOCK_MIGRATIONS: &'static str;
        /// The statement that releases [`Backend::LOCK_MIGRATIONS`].
        const UNLOCK_MIGRATIONS: &'static str;

        /// Runs after every migration was applied (SQLite forgets statistics
        /// that slow its keyword index down).
        fn after_migrations(
            _pool: &Pool<Self::Db>,
        ) -> impl Future<Output = Result<()>> + Send + '_ {
            async { Ok(()) }
        }
    }
}

/// Implements `execute`, `fetch_all`, `fetch_optional`, `run_script` and
/// `migrator` of a dialect from `$query`, a function turning a [`Sql`] into
/// a bound sqlx query, and the folder of its migrations.
macro_rules! statements {
    ($db:ty, $row:ty, $query:path, $migrations:literal) => {
        type Db = $db;
        type Row = $row;

        fn migrator() -> &'static sqlx::migrate::Migrator {
            static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!($migrations);
            &MIGRATOR
        }

        fn execute<'a>(
            c: &'a mut $crate::dialect::Conn<Self>,
            sql: &'a $crate::sql::Sql,
        ) -> impl std::future::Future<Output = shop_core::Result<u64>> + Send + 'a {
            async move {
                let text = Self::render(sql);
                let done = $query(&text, &sql.args)
                    .execute(c)
                    .await
                    .map_err(crate::error::db_err)?;
                Ok(done.rows_affected())
            }
        }

        fn fetch_all<'a>(
            c: &'a mut $crate::dialect::Conn<Self>,
            sql: &'a $crate::sql::Sql,
        ) -> impl std::future::Future<Output = shop_core::Result<Vec<Self::Row>>> + Send + 'a {
            async move {
                let text = Self::render(sql);
                $query(&text, &sql.args)
                    .fetch_all(c)
                    .await
                    .map_err(crate::error::db_err)
            }
        }

        fn fetch_optional<'a>(
            c: &'a mut $crate::dialect::Conn<Self>,
            sql: &'a $crate::sql::Sql,
        ) -> impl std::future::Future<Output = shop_core::Result<Option<Self::Row>>> + Send + 'a {
            async move {
                let text = Self::render(sql);
                $query(&text, &sql.args)
                    .fetch_optional(c)
                    .await
                    .map_err(crate::error::db_err)
            }
        }

        fn run_script<'a>(
            c: &'a mut $crate::dialect::Conn<Self>,
            script: &'a str,
        ) -> impl std::future::Future<Output = shop_core::Result<()>> + Send + 'a {
            async move {
                sqlx::Executor::execute(c, script)
                    .await
                    .map(|_| ())
                    .map_err(crate::error::db_err)
            }
        }
    };
}
pub(crate) use statements;

/// Defines `fn $name(text, args)`, a sqlx query of `$db` with every
/// argument bound: decimals through `$dec`, times through `$time`.
macro_rules! binder {
    ($name:ident, $db:ty, $arguments:ty, |$d:ident| $dec:expr, |$t:ident| $time:expr) => {
        fn $name<'q>(
            text: &'q str,
            args: &'q [$crate::sql::Arg],
        ) -> sqlx::query::Query<'q, $db, $arguments> {
            let mut q = sqlx::query(text);
            for arg in args {
                q = match arg {
                    $crate::sql::Arg::Int(v) => q.bind(*v),
                    $crate::sql::Arg::Text(v) => q.bind(v.as_deref()),
                    $crate::sql::Arg::Bool(v) => q.bind(*v),
                    $crate::sql::Arg::Dec(v) => q.bind(v.map(|$d| $dec)),
                    $crate::sql::Arg::Time(v) => q.bind(v.map(|$t| $time)),
                };
            }
            q
        }
    };
}
pub(crate) use binder;

/// `Cols` methods that decode the column as the type itself.
macro_rules! decode_cols {
    ($($name:ident -> $ty:ty),* $(,)?) => {$(
        fn $name(&self, col: &str) -> shop_core::Result<$ty> {
            sqlx::Row::try_get(self, col).map_err(crate::error::db_err)
        }
    )*};
}
pub(crate) use decode_cols;

/// Declares a dialect: its marker type (named like its sqlx driver) and
/// `query`, its binder (see [`binder!`]).
macro_rules! dialect {
    ($doc:literal, $name:ident, $arguments:ty, |$d:ident| $dec:expr, |$t:ident| $time:expr) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        binder!(query, sqlx::$name, $arguments, |$d| $dec, |$t| $time);
    };
}
pub(crate) use dialect;
