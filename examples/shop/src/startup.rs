//! What a start that fails says: one sentence naming the setting to change
//! (never a debug dump, never a password from a URL).

use std::io;
use std::net::SocketAddr;
use std::path::Path;

use shop_storage_sql::sqlx;

use crate::BoxError;

/// The bind error as a sentence naming `SHOP_BIND`.
pub fn bind_error(bind: SocketAddr, e: &io::Error) -> BoxError {
    let why = match e.kind() {
        io::ErrorKind::AddrInUse => {
            "the address is already in use (another shop or program listens there)".to_owned()
        }
        io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges)".to_owned()
        }
        io::ErrorKind::AddrNotAvailable => "this machine has no such address".to_owned(),
        _ => e.to_string(),
    };
    format!("cannot listen on {bind}: {why}; choose another address with SHOP_BIND or --bind")
        .into()
}

/// `url` without its user and password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The file path of a SQLite URL (`None` for an in-memory database).
pub(crate) fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// Refuses a SQLite URL whose folder does not exist, before connecting.
pub fn check_sqlite_folder(url: &str) -> Result<(), BoxError> {
    let Some(path) = sqlite_path(url) else {
        return Ok(());
    };
    match Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(format!(
            "the folder {} of the SQLite database {path} does not exist: create it, or point \
             SHOP_DATABASE_URL (--database-url) at another file",
            dir.display()
        )
        .into()),
        _ => Ok(()),
    }
}

/// One direct connection to a PostgreSQL or MySQL URL, closed at once: a
/// pool retries a refused connection until its acquire timeout (30 s),
/// while this fails at once with the server's real answer.
pub async fn probe(url: &str) -> Result<(), BoxError> {
    use sqlx::Connection;
    let failed = |e: sqlx::Error| {
        let e = shop_core::Error::from(shop_core::StoreError::Backend {
            source: Box::new(e),
        });
        database_error(url, "connect to", &e)
    };
    if url.starts_with("mysql:") {
        let connection = sqlx::MySqlConnection::connect(url).await.map_err(failed)?;
        let _ = connection.close().await;
    } else {
        let connection = sqlx::PgConnection::connect(url).await.map_err(failed)?;
        let _ = connection.close().await;
    }
    Ok(())
}

/// Refuses a SQLite URL whose file does not exist (a command that works on
/// an existing shop must not create an empty one).
pub fn check_database_exists(url: &str) -> Result<(), BoxError> {
    match sqlite_path(url) {
        Some(path) if !Path::new(path).exists() => Err(format!(
            "there is no SQLite database at {path}: start the shop once to create it, or point \
             SHOP_DATABASE_URL (--database-url) at it"
        )
        .into()),
        _ => Ok(()),
    }
}

/// A failed connection or migration as a sentence naming
/// `SHOP_DATABASE_URL`.
pub fn database_error(url: &str, step: &str, e: &shop_core::Error) -> BoxError {
    let shown = redact(url);
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut sqlx_error = None;
    while let Some(s) = source {
        if let Some(found) = s.downcast_ref::<sqlx::Error>() {
            sqlx_error = Some(found);
            break;
        }
        source = s.source();
    }
    let why = match sqlx_error {
        Some(sqlx::Error::Database(db)) => match db.code().as_deref() {
            // PostgreSQL 3D000, MySQL 1049: unknown database.
            Some("3D000") | Some("1049") => format!(
                "the database does not exist ({}): create it (e.g. `createdb NAME` or \
                 `CREATE DATABASE NAME`)",
                db.message()
            ),
            // PostgreSQL 28P01/28000, MySQL 1045: wrong user or password.
            Some("28P01") | Some("28000") | Some("1045") => {
                format!("the server refused the user or password ({})", db.message())
            }
            _ => db.message().to_owned(),
        },
        Some(sqlx::Error::Io(io)) if io.kind() == io::ErrorKind::ConnectionRefused => {
            "nothing answers at that address: is the database server running?".to_owned()
        }
        Some(sqlx::Error::Io(io)) => io.to_string(),
        Some(sqlx::Error::Configuration(c)) => format!("the URL is not valid ({c})"),
        Some(sqlx::Error::PoolTimedOut) => {
            "the server did not answer in time: is it running and reachable?".to_owned()
        }
        Some(other) => other.to_string(),
        None => e.to_string(),
    };
    format!("cannot {step} the database {shown}: {why}; fix it, or set SHOP_DATABASE_URL (--database-url)").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            redact("postgres://shop:s3cret@db:5432/shop"),
            "postgres://db:5432/shop"
        );
        assert_eq!(redact("sqlite://shop.db"), "sqlite://shop.db");
        assert_eq!(
            redact("mysql://root@127.0.0.1/test"),
            "mysql://127.0.0.1/test"
        );
    }

    #[test]
    fn sqlite_paths_and_missing_folders() {
        assert_eq!(sqlite_path("sqlite://shop.db"), Some("shop.db"));
        assert_eq!(
            sqlite_path("sqlite:data/shop.db?mode=rwc"),
            Some("data/shop.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert!(check_sqlite_folder("sqlite://shop.db").is_ok());
        let err = check_sqlite_folder("sqlite:///no/such/folder/shop.db").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("/no/such/folder"), "{message}");
        assert!(message.contains("SHOP_DATABASE_URL"), "{message}");
    }
}
