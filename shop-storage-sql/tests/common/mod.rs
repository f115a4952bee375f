//! Shared by the server-backed test files: where the servers are, and what
//! happens when one is missing.
#![allow(dead_code, unreachable_pub)]

pub mod my;
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
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sqlite");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{}.db", unique_name("t_")));
    let store = shop_storage_sql::SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open sqlite");
    store.migrate().await.expect("migrate");
    store
}
