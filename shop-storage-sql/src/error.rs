//! Turning driver errors into shop-core's: what is retryable, what is a
//! taken key, what a transaction may run again after.

use shop_core::{Entity, Error, Result, StoreError};

/// Translates a driver error: connection trouble is retryable
/// (`Unavailable`), anything else is a permanent `Backend` error.
pub(crate) fn db_err(e: sqlx::Error) -> Error {
    let retryable = match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => is_retryable_code(error_code(d.as_ref()).as_deref()),
        _ => false,
    };
    let source = Box::new(e);
    Error::Store(if retryable {
        StoreError::Unavailable { source }
    } else {
        StoreError::Backend { source }
    })
}

/// Deadlocks, serialization failures, lock timeouts and "database is
/// locked": the transaction was (or, for a MySQL lock wait timeout, is about
/// to be) rolled back and may be retried.
fn is_retryable_code(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("40001" | "40P01" | "55P03" | "57P01" | "1213" | "1205" | "5" | "6" | "517")
    )
}

/// Whether `e` is a deadlock, serialization failure or busy database: the
/// database rolled the transaction back, so running it again is safe.
/// (Connection errors are not retried: a commit whose answer was lost may
/// have happened. That includes PostgreSQL's `57P01`, the server
/// terminating the session, which can arrive while a `COMMIT` is answered.)
fn is_rolled_back(e: &Error) -> bool {
    let Error::Store(StoreError::Unavailable { source }) = e else {
        return false;
    };
    match source.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::Database(d)) => {
            let code = error_code(d.as_ref());
            code.as_deref() != Some("57P01") && is_retryable_code(code.as_deref())
        }
        _ => false,
    }
}

/// Runs a transaction body again while the database rolls it back for a
/// deadlock or serialization failure (at most 10 times).
pub(crate) async fn retry_rolled_back<T, F, Fut>(mut body: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match body().await {
            Err(e) if attempt < 10 && is_rolled_back(&e) => continue,
            other => return other,
        }
    }
}

/// The driver error inside a store error, if it is one.
fn driver_error(e: &Error) -> Option<&sqlx::Error> {
    match e {
        Error::Store(StoreError::Backend { source } | StoreError::Unavailable { source }) => {
            source.downcast_ref::<sqlx::Error>()
        }
        _ => None,
    }
}

/// Reading a failed write's error as a key violation.
pub(crate) trait Violation: Sized {
    /// A unique-key violation becomes `AlreadyExists { entity, key }`.
    fn or_exists(self, entity: Entity, key: impl ToString) -> Error;
    /// A foreign-key violation becomes `missing` (the row it refers to does
    /// not exist).
    fn or_missing(self, missing: Error) -> Error;
    /// Whether it is a unique-key violation.
    fn is_unique_violation(&self) -> bool;
}

impl Violation for Error {
    fn or_exists(self, entity: Entity, key: impl ToString) -> Error {
        if self.is_unique_violation() {
            already_exists(entity, key)
        } else {
            self
        }
    }

    fn or_missing(self, missing: Error) -> Error {
        match driver_error(&self) {
            Some(sqlx::Error::Database(d)) if d.is_foreign_key_violation() => missing,
            _ => self,
        }
    }

    fn is_unique_violation(&self) -> bool {
        matches!(driver_error(self), Some(sqlx::Error::Database(d)) if d.is_unique_violation())
    }
}

/// `AlreadyExists { entity, key }`.
pub(crate) fn already_exists(entity: Entity, key: impl ToString) -> Error {
    Error::Store(StoreError::AlreadyExists {
        entity,
        key: key.to_string(),
    })
}

/// `Conflict` for a compare-and-set that matched no row.
pub(crate) fn conflict(entity: Entity, id: impl ToString) -> Error {
    Error::Store(StoreError::Conflict {
        entity,
        id: id.to_string(),
    })
}

/// A row that does not decode into a domain value.
pub(crate) fn corrupt(what: &str, value: &str) -> Error {
    Error::Store(StoreError::Backend {
        source: format!("corrupt {what} in the database: {value:?}").into(),
    })
}

/// The code a database error is classified by: MySQL's error number (its
/// SQLSTATE is `HY000` for a lock wait timeout, as for much else), else the
/// SQLSTATE or SQLite result code.
fn error_code(d: &dyn sqlx::error::DatabaseError) -> Option<String> {
    #[cfg(feature = "mysql")]
    if let Some(my) = d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return Some(my.number().to_string());
    }
    d.code().map(|c| c.into_owned())
}
