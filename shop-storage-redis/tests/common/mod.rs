//! Where the test Redis server is, a fresh key prefix per test, and what
//! happens when the server is missing.
#![allow(dead_code, unreachable_pub)]

use shop_storage_redis::RedisStore;

/// `SHOP_TEST_REDIS_URL`, else the local default.
pub fn redis_url() -> String {
    std::env::var("SHOP_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A prefix no other test (in this or another run) uses.
pub fn unique_prefix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!(
        "shoptest:{}_{nanos}_{}:",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A store on the test server under a fresh prefix; `None` (test skipped,
/// loudly) when the server is unreachable, a panic instead under `CI`.
pub async fn redis_store() -> Option<RedisStore> {
    let url = redis_url();
    match RedisStore::connect(&url, unique_prefix()).await {
        Ok(store) => Some(store),
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!("Redis at {url} is unreachable and CI is set: {e}");
            }
            eprintln!(
                "\n*** SKIPPED: Redis at {url} is unreachable ({e}); start it to run this test ***\n"
            );
            None
        }
    }
}
