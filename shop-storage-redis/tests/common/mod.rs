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

/// The URL (`redis+cluster://…`) of a 6-node Redis Cluster (3 primaries,
/// 3 replicas) on 127.0.0.1 that this test process starts once, from
/// `redis-server` ×6 on free ports and `redis-cli --cluster create`; each
/// server stops when the test process ends. `SHOP_TEST_REDIS_CLUSTER_URL`
/// names an existing cluster instead. `None` (skipped, loudly) when the
/// binaries are missing, a panic instead under `CI`.
pub fn cluster_url() -> Option<String> {
    static URL: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    let url = URL.get_or_init(|| match std::env::var("SHOP_TEST_REDIS_CLUSTER_URL") {
        Ok(url) => Ok(url),
        Err(_) => start_cluster(),
    });
    match url {
        Ok(url) => Some(url.clone()),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("cannot start a Redis Cluster and CI is set: {e}")
        }
        Err(e) => {
            eprintln!("\n*** SKIPPED: cannot start a Redis Cluster ({e}) ***\n");
            None
        }
    }
}

/// A store on the test cluster under a fresh prefix (see [`cluster_url`]).
pub async fn cluster_store() -> Option<RedisStore> {
    let url = cluster_url()?;
    Some(
        RedisStore::connect(&url, unique_prefix())
            .await
            .unwrap_or_else(|e| panic!("the test cluster at {url} does not answer: {e}")),
    )
}

/// A connection of the redis crate's own to the test cluster, for checks
/// from outside the store.
pub async fn cluster_connection() -> shop_storage_redis::redis::cluster_async::ClusterConnection {
    let url = cluster_url().expect("a test cluster");
    let nodes: Vec<String> = url
        .trim_start_matches("redis+cluster://")
        .split(',')
        .map(|n| format!("redis://{n}"))
        .collect();
    shop_storage_redis::redis::cluster::ClusterClient::new(nodes)
        .unwrap()
        .get_async_connection()
        .await
        .unwrap()
}

fn start_cluster() -> Result<String, String> {
    let base = free_ports(6)?;
    let dir = scratch_dir("redis-cluster")?;
    let ports: Vec<u16> = (base..base + 6).collect();
    for port in &ports {
        spawn_redis(
            &dir,
            *port,
            &format!(
                "--cluster-enabled yes --cluster-config-file nodes-{port}.conf \
                 --cluster-node-timeout 5000"
            ),
            None,
        )?;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for port in &ports {
        wait_for_ping(*port, &dir)?;
    }
    let mut create: Vec<String> = vec!["--cluster".into(), "create".into()];
    create.extend(ports.iter().map(|p| format!("127.0.0.1:{p}")));
    create.extend([
        "--cluster-replicas".into(),
        "1".into(),
        "--cluster-yes".into(),
    ]);
    let out = redis_cli(&create)?;
    if !out.status.success() {
        return Err(format!(
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    for port in &ports {
        loop {
            let out = redis_cli(&[
                "-p".into(),
                port.to_string(),
                "CLUSTER".into(),
                "INFO".into(),
            ])?;
            if String::from_utf8_lossy(&out.stdout).contains("cluster_state:ok") {
                break;
            }
            if std::time::Instant::now() > deadline + std::time::Duration::from_secs(30) {
                return Err(format!(
                    "the cluster on {base}.. did not reach cluster_state:ok"
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    Ok(format!(
        "redis+cluster://127.0.0.1:{},127.0.0.1:{},127.0.0.1:{}",
        ports[0], ports[1], ports[2]
    ))
}

/// The first of `n` consecutive free ports on 127.0.0.1 whose cluster-bus
/// ports (+10000) are free too.
pub fn free_ports(n: u16) -> Result<u16, String> {
    let free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    let start = (std::process::id() % 400) as u16 * 10;
    (0..400u16)
        .map(|i| 21_000 + (start + i * 10) % 4_000)
        .find(|&b| (b..b + n).all(|p| free(p) && free(p + 10_000)))
        .ok_or_else(|| format!("no {n} free ports"))
}

/// An empty folder of this test process in the test target's folder.
pub fn scratch_dir(name: &str) -> Result<std::path::PathBuf, String> {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// Starts `redis-server` on `port` with extra `args`, logging into `dir`.
/// With `sentinel_config`, a Sentinel with that configuration file
/// instead. A watchdog shell stops it once this test process is gone.
pub fn spawn_redis(
    dir: &std::path::Path,
    port: u16,
    args: &str,
    sentinel_config: Option<&str>,
) -> Result<(), String> {
    use std::process::{Command, Stdio};
    let me = std::process::id();
    let config = match sentinel_config {
        Some(text) => {
            // A Sentinel rewrites its file, so it needs one of its own.
            let file = dir.join(format!("sentinel-{port}.conf"));
            std::fs::write(&file, text).map_err(|e| e.to_string())?;
            format!("'{}' --sentinel", file.display())
        }
        None => String::new(),
    };
    let script = format!(
        "redis-server {config} --port {port} --bind 127.0.0.1 {args} \
         --dir '{dir}' --save '' --appendonly no --daemonize no \
         --logfile '{dir}/{port}.log' & r=$!; \
         while kill -0 {me} 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 0.5; done; \
         kill $r 2>/dev/null",
        dir = dir.display()
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    Ok(())
}

/// Runs `redis-cli` with `args`.
pub fn redis_cli(args: &[String]) -> Result<std::process::Output, String> {
    std::process::Command::new("redis-cli")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run redis-cli: {e}"))
}

/// Waits up to 20 s for the server on `port` to answer `PING`.
pub fn wait_for_ping(port: u16, dir: &std::path::Path) -> Result<(), String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let out = redis_cli(&["-p".into(), port.to_string(), "PING".into()])?;
        if String::from_utf8_lossy(&out.stdout).trim() == "PONG" {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "redis-server on {port} did not start (see {})",
                dir.display()
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// 30 concurrent requests on a bucket of 10 a minute: exactly 10 pass.
pub async fn ten_of_thirty_pass(store: std::sync::Arc<RedisStore>) {
    let results = shop_core::conformance::concurrently(
        (0..30)
            .map(|_| {
                let store = std::sync::Arc::clone(&store);
                async move { store.rate_limit("login:10.0.0.1", 10).await.unwrap() }
            })
            .collect(),
    )
    .await;
    assert_eq!(results.iter().filter(|ok| **ok).count(), 10);
}
