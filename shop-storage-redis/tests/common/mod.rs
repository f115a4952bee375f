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
        Ok(store) => {
            sweep_dead_runs(&url).await;
            Some(store)
        }
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

/// Deletes, once per test process, the keys of earlier test processes that
/// are gone (their prefix holds their pid), so runs do not pile up keys.
async fn sweep_dead_runs(url: &str) {
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            let Ok(client) = shop_storage_redis::redis::Client::open(url) else {
                return;
            };
            let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
                return;
            };
            let mut prefixes = std::collections::BTreeSet::new();
            if let Ok(mut keys) = shop_storage_redis::redis::AsyncCommands::scan_match::<_, String>(
                &mut conn,
                "shoptest:*",
            )
            .await
            {
                while let Some(Ok(key)) = keys.next_item().await {
                    if let Some(run) = key
                        .strip_prefix("shoptest:")
                        .and_then(|rest| rest.split(':').next())
                    {
                        prefixes.insert(run.to_owned());
                    }
                }
            }
            for run in prefixes {
                let pid = run.split('_').next().and_then(|p| p.parse::<u32>().ok());
                let alive = pid.is_some_and(|pid| {
                    pid == std::process::id()
                        || std::path::Path::new(&format!("/proc/{pid}")).exists()
                });
                if !alive {
                    if let Ok(stale) = RedisStore::connect(url, format!("shoptest:{run}:")).await {
                        let _ = stale.clear().await;
                    }
                }
            }
        })
        .await;
}

/// A migrated SQLite database of its own in the test target's folder.
pub async fn sqlite() -> std::sync::Arc<shop_storage_sql::SqliteStore> {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("redis-mixed");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.db", unique_prefix().replace(':', "_")));
    let sql = shop_storage_sql::SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sql.migrate().await.unwrap();
    std::sync::Arc::new(sql)
}
