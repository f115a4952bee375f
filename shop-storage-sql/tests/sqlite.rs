//! The shop-core conformance suite on SQLite: each test gets a fresh
//! database file of its own.

use shop_storage_sql::SqliteStore;

async fn fresh() -> SqliteStore {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sqlite");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let path = dir.join(format!("t-{}-{n}.db", std::process::id()));
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open sqlite");
    store.migrate().await.expect("migrate");
    store
}

shop_core::conformance_tests!(fresh());
