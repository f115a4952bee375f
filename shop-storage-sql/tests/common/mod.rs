//! Shared by the server-backed test files: where the servers are, and what
//! happens when one is missing.
#![allow(dead_code, unreachable_pub)]

#[cfg(feature = "mysql")]
pub mod my;
#[cfg(feature = "postgres")]
pub mod pg;

/// The URL of a test server: `var` from the environment, else `default`.
pub fn server_url(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// Called when a test server cannot be reached: under `CI` this fails the
/// test; elsewhere it prints a loud message and the test is skipped.
pub fn server_missing<T>(what: &str, url: &str, error: impl std::fmt::Display) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!("{what} at {url} is unreachable and CI is set: {error}");
    }
    eprintln!(
        "\n*** SKIPPED: {what} at {url} is unreachable ({error}); start it to run this test ***\n"
    );
    None
}

/// A name no other test (in this or another run) uses: `prefix` + pid +
/// nanoseconds + a counter.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos()
        % 1_000_000_000_000;
    format!(
        "{prefix}{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A migrated SQLite store on a database file of its own.
pub async fn sqlite_store() -> shop_storage_sql::SqliteStore {
    let store = unmigrated_sqlite_store().await;
    store.migrate().await.expect("migrate");
    store
}

/// A SQLite store on a database file of its own, not migrated yet.
pub async fn unmigrated_sqlite_store() -> shop_storage_sql::SqliteStore {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sqlite");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{}.db", unique_name("t_")));
    shop_storage_sql::SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open sqlite")
}

/// The migrations of an application that shares the shop's database: its
/// own sqlx migrations (recorded in `_sqlx_migrations`) creating tables
/// named like the shop's aggregates, in a folder of their own.
pub fn app_migrations() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("app_migrations")
        .join(unique_name("m_"));
    std::fs::create_dir_all(&dir).expect("migrations dir");
    std::fs::write(
        dir.join("0001_app_tables.sql"),
        "CREATE TABLE products (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL);\n\
         CREATE TABLE orders (id BIGINT PRIMARY KEY, note VARCHAR(100) NOT NULL);\n\
         CREATE TABLE sessions (token VARCHAR(64) PRIMARY KEY);\n",
    )
    .expect("write a migration");
    std::fs::write(
        dir.join("0002_app_rows.sql"),
        "INSERT INTO products (id, name) VALUES (1, 'the app''s own product');\n",
    )
    .expect("write a migration");
    dir
}

/// An application's own sqlx migrations and the shop's migrations share
/// one database, in either order, and each keeps working: `$store` is a
/// store whose database nothing has migrated yet.
#[macro_export]
macro_rules! shop_beside_app {
    ($store:expr) => {{
        use shop_core::catalog::CatalogStore;
        use shop_core::conformance::fixtures::Fixture;
        use shop_core::order::OrderStore;
        use shop_storage_sql::sqlx;
        use std::sync::Arc;

        let store = Arc::new($store);
        let app = sqlx::migrate::Migrator::new(common::app_migrations())
            .await
            .expect("read the app's migrations");
        app.run(store.pool()).await.expect("the app migrates first");
        store.migrate().await.expect("the shop migrates beside it");
        store.migrate().await.expect("and again, as at every start");
        app.run(store.pool()).await.expect("the app migrates again");

        let fx = Fixture::new(Arc::clone(&store));
        let skus = fx.product(&[("10.00", 5)]).await;
        let order = fx.placed(fx.user(), &[(&skus[0], 2)], None).await;
        assert_eq!(store.get_order(order.id).await.unwrap(), Some(order));
        assert_eq!(fx.stock(skus[0].id).await, 3);
        assert!(store
            .get_product(skus[0].product_id)
            .await
            .unwrap()
            .is_some());

        let name: String = sqlx::query_scalar("SELECT name FROM products WHERE id = 1")
            .fetch_one(store.pool())
            .await
            .expect("the app's table");
        assert_eq!(name, "the app's own product");
        let app_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(app_rows, 1, "the shop wrote nothing into the app's table");
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert_eq!(versions, [1, 2], "only the app's migrations are sqlx's");
        let ours: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM shop_migrations")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert!(ours >= 1);
    }};
}
