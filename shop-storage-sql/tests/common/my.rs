//! MySQL/MariaDB test stores: a fresh database per test, stale databases of
//! earlier runs dropped once per test binary.

use shop_storage_sql::sqlx::{self, Connection, Executor, MySqlConnection};
use shop_storage_sql::MySqlStore;
use tokio::sync::OnceCell;

const URL_VAR: &str = "SHOP_TEST_MYSQL_URL";
const DEFAULT_URL: &str = "mysql://root@127.0.0.1:3306/test";
const PREFIX: &str = "shop_t_";

fn server() -> String {
    super::server_url(URL_VAR, DEFAULT_URL)
}

/// `url` with its database replaced by `db` (keeping any `?options`).
fn database_url(url: &str, db: &str) -> String {
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

/// Whether the process that created database `name` may still be running:
/// it is this process, or (where `/proc` tells) a live one.
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

/// Drops the test databases earlier runs left behind (once per test binary).
async fn drop_stale_databases(admin: &mut MySqlConnection) {
    static ONCE: OnceCell<()> = OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let names: Vec<String> =
            sqlx::query_scalar("SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA")
                .fetch_all(&mut *admin)
                .await
                .expect("list databases");
        for name in names {
            if name.starts_with(PREFIX) && !owner_may_be_alive(&name) {
                admin
                    .execute(format!("DROP DATABASE IF EXISTS `{name}`").as_str())
                    .await
                    .expect("drop a stale test database");
            }
        }
    })
    .await;
}

/// The URL of a new, empty database of its own, or `None` (after saying so)
/// when the server is unreachable outside CI.
pub async fn fresh_database() -> Option<String> {
    let url = server();
    let mut admin = match MySqlConnection::connect(&url).await {
        Ok(conn) => conn,
        Err(e) => return super::server_missing("MySQL/MariaDB", &url, e),
    };
    drop_stale_databases(&mut admin).await;
    let name = super::unique_name(PREFIX);
    admin
        .execute(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4").as_str())
        .await
        .expect("create the test database");
    admin.close().await.ok();
    Some(database_url(&url, &name))
}

/// A migrated store with a pool of 8 on a database of its own.
pub async fn fresh() -> Option<MySqlStore> {
    let url = fresh_database().await?;
    let store = MySqlStore::connect_with(&url, 8)
        .await
        .expect("connect to the test database");
    store.migrate().await.expect("migrate");
    Some(store)
}

/// A store on a database of its own, not migrated yet.
pub async fn unmigrated() -> Option<MySqlStore> {
    let url = fresh_database().await?;
    Some(
        MySqlStore::connect_with(&url, 8)
            .await
            .expect("connect to the test database"),
    )
}
