//! Fresh databases on the PostgreSQL and MySQL test servers, one per test,
//! dropped when the test ends (and, when a run died, by a later run).

use shop_storage_sql::sqlx::{self, Connection, Executor};

use super::{server_missing, unique};

/// Every database these tests create starts with this (and the pid).
const PREFIX: &str = "shop_ex_";

/// `url` with its database replaced by `db` (keeping any `?options`).
pub fn database_url(url: &str, db: &str) -> String {
    let (base, options) = match url.find('?') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority..].find('/') {
        Some(i) => &base[..authority + i],
        None => base,
    };
    format!("{root}/{db}{options}")
}

/// Whether the test process that created database `name` may be running.
fn owner_may_be_alive(name: &str) -> bool {
    let Some(pid) = name
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split('_').next())
        .and_then(|pid| pid.parse::<u32>().ok())
    else {
        return false;
    };
    pid == std::process::id()
        || (std::path::Path::new("/proc/self").exists()
            && std::path::Path::new(&format!("/proc/{pid}")).exists())
}

/// A fresh database on a server; dropped by [`TestDatabase::drop_now`].
pub struct TestDatabase {
    /// The URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
    postgres: bool,
}

impl TestDatabase {
    /// A new PostgreSQL database, or `None` (said loudly) when the server is
    /// unreachable outside CI.
    pub async fn postgres() -> Option<TestDatabase> {
        let url = std::env::var("SHOP_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let mut admin = match sqlx::PgConnection::connect(&url).await {
            Ok(c) => c,
            Err(e) => return server_missing("PostgreSQL", &url, e),
        };
        let stale: Vec<String> = sqlx::query_scalar(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'shop\\_ex\\_%'",
        )
        .fetch_all(&mut admin)
        .await
        .expect("list databases");
        for name in stale.iter().filter(|n| !owner_may_be_alive(n)) {
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                .await;
        }
        let name = unique(PREFIX);
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .expect("create the test database");
        Some(TestDatabase {
            url: database_url(&url, &name),
            admin_url: url,
            name,
            postgres: true,
        })
    }

    /// A new MySQL/MariaDB database, or `None` (said loudly) when the server
    /// is unreachable outside CI.
    pub async fn mysql() -> Option<TestDatabase> {
        let url = std::env::var("SHOP_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned());
        let mut admin = match sqlx::MySqlConnection::connect(&url).await {
            Ok(c) => c,
            Err(e) => return server_missing("MySQL", &url, e),
        };
        let stale: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA \
             WHERE SCHEMA_NAME LIKE 'shop\\_ex\\_%'",
        )
        .fetch_all(&mut admin)
        .await
        .expect("list databases");
        for name in stale.iter().filter(|n| !owner_may_be_alive(n)) {
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS `{name}`").as_str())
                .await;
        }
        let name = unique(PREFIX);
        admin
            .execute(format!("CREATE DATABASE `{name}`").as_str())
            .await
            .expect("create the test database");
        Some(TestDatabase {
            url: database_url(&url, &name),
            admin_url: url,
            name,
            postgres: false,
        })
    }

    /// Drops the database (after the apps using it have stopped).
    pub async fn drop_now(self) {
        let sql = if self.postgres {
            format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)
        } else {
            format!("DROP DATABASE IF EXISTS `{}`", self.name)
        };
        let dropped = if self.postgres {
            match sqlx::PgConnection::connect(&self.admin_url).await {
                Ok(mut c) => c.execute(sql.as_str()).await.map(|_| ()),
                Err(e) => Err(e),
            }
        } else {
            match sqlx::MySqlConnection::connect(&self.admin_url).await {
                Ok(mut c) => c.execute(sql.as_str()).await.map(|_| ()),
                Err(e) => Err(e),
            }
        };
        if let Err(e) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// `SHOP_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`) when the server
/// answers; `None` (said loudly) when it does not, a panic under CI.
pub async fn redis_url() -> Option<String> {
    let url = std::env::var("SHOP_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    match shop_storage_redis::RedisStore::connect(&url, "shop_ex_probe:").await {
        Ok(_) => Some(url),
        Err(e) => server_missing("Redis", &url, e),
    }
}

/// A key prefix of its own for one test.
pub fn redis_prefix() -> String {
    format!("{}:", unique("shop_ex_"))
}

/// Deletes every key a test wrote under `prefix`.
pub async fn clear_redis(url: &str, prefix: &str) {
    let store = shop_storage_redis::RedisStore::connect(url, prefix)
        .await
        .expect("Redis for cleaning up");
    store.clear().await.expect("clear the test's keys");
}

/// Splits a `redis://[userinfo@]host:port[/db]` URL into `host:port` and a
/// function that puts another `host:port` in its place.
pub fn redis_authority(url: &str) -> (String, impl Fn(&str) -> String) {
    let rest = url.strip_prefix("redis://").expect("a redis:// URL");
    let (userinfo, rest) = match rest.rsplit_once('@') {
        Some((user, rest)) => (format!("{user}@"), rest),
        None => (String::new(), rest),
    };
    let (authority, path) = match rest.split_once('/') {
        Some((authority, path)) => (authority, format!("/{path}")),
        None => (rest, String::new()),
    };
    let with = move |authority: &str| format!("redis://{userinfo}{authority}{path}");
    (authority.to_owned(), with)
}
