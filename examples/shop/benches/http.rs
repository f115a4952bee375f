//! The example shop's HTTP path against an axum hello-world, in one run,
//! and the product listing at 100,000 products on SQLite and PostgreSQL.
//!
//! ```sh
//! cargo bench -p shop-example --bench http            # needs `wrk` (apt install wrk)
//! BENCH_SECONDS=10 cargo bench -p shop-example --bench http
//! ```
//!
//! Every figure comes from `wrk` (one thread, 32 connections) against a
//! server in this process, on the same two cores as the load generator;
//! the ratios, not the absolute numbers, are what carries over to another
//! machine. PostgreSQL is skipped, loudly, when it is unreachable
//! (`SHOP_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`).

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use shop_example::{start, Config, Server};
use shop_storage_sql::sqlx::{self, Connection, Executor};

/// Products in the large catalog.
const LARGE: u32 = 100_000;
/// The word only one product of the large catalog has.
const RARE: &str = "zebrafish";

/// One `wrk` run: requests per second and the 99th percentile latency.
struct Load {
    rps: f64,
    p99_ms: f64,
}

fn wrk(url: &str, seconds: u64) -> Load {
    let out = Command::new("wrk")
        .args(["-t1", "-c32", &format!("-d{seconds}s"), "--latency", url])
        .output()
        .expect("running wrk (install it: apt install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"));
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| parse_latency(v.trim()))
        .unwrap_or(f64::NAN);
    let errors = text.lines().find(|l| l.contains("Non-2xx"));
    assert!(errors.is_none(), "{url}: {}", errors.unwrap_or_default());
    Load { rps, p99_ms: p99 }
}

/// `1.23ms`, `456.00us`, `1.20s` in milliseconds.
fn parse_latency(v: &str) -> f64 {
    let (number, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => f64::NAN,
    }
}

/// Peak resident memory of this process, in MiB (`VmHWM`).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

async fn hello_world() -> SocketAddr {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "Hello, World!" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn shop(database_url: &str, catalog_cache_ms: u64) -> Server {
    let mut config = Config::new(database_url);
    config.rate_limit_per_minute = 1_000_000;
    config.catalog_cache_ms = catalog_cache_ms;
    start(&config, Arc::new(shop_notify::LogNotifier::default()))
        .await
        .expect("start the shop")
}

fn temp_sqlite(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("shop-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite://{}", dir.join(name).display())
}

/// The first product id of a listing.
async fn first_product(base: &str) -> String {
    let body: serde_json::Value = reqwest::get(format!("{base}/api/products?per_page=1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["items"][0]["id"]
        .as_str()
        .expect("a product")
        .to_owned()
}

/// The statements that write `LARGE` products, one SKU each, the rare word
/// in one description; `search_text` as shop-core's rule makes it (the text
/// is ASCII, where SQL's lower() agrees with Rust's).
fn seed_sql(postgres: bool) -> [String; 2] {
    let (numbers, newline, price, zero, yes, now) = if postgres {
        (
            format!("generate_series(1, {LARGE}) AS i"),
            "chr(10)",
            "1 + (i % 5000) / 10.0",
            "0",
            "TRUE",
            "now()",
        )
    } else {
        (
            format!(
                "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                 WHERE i < {LARGE}) SELECT i FROM n)"
            ),
            "char(10)",
            "printf('%.2f', 1 + (i % 5000) / 10.0)",
            "'0.00'",
            "1",
            "0",
        )
    };
    let rare = LARGE / 2;
    let text = format!(
        "CASE WHEN i = {rare} THEN 'The one with a {RARE} on it.' \
         ELSE 'A description of product ' || i || ' about cups, plates and bowls.' END"
    );
    [
        format!(
            "INSERT INTO shop_products (id, kind, title, long_title, description, image, on_sale, \
             category_id, properties, rating, sold_count, review_count, price, currency, \
             created_at, updated_at, search_text) \
             SELECT 1000000 + i, 'normal', 'Product ' || i, 'Long title of product ' || i, \
             {text}, '', {yes}, NULL, '[]', {zero}, i % 1000, i % 50, {price}, 'CNY', {now}, \
             {now}, lower('Product ' || i || {newline} || 'Long title of product ' || i || \
             {newline} || {text}) FROM {numbers}"
        ),
        format!(
            "INSERT INTO shop_skus (id, product_id, title, description, price, currency, stock) \
             SELECT 3000000 + i, 1000000 + i, 'Standard', '', {price}, 'CNY', 100 FROM {numbers}"
        ),
    ]
}

async fn seed_sqlite(url: &str) {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    for statement in seed_sql(false) {
        conn.execute(statement.as_str()).await.expect("seed SQLite");
    }
    // A whole-database ANALYZE, as an operator would run it (the shop's
    // start forgets the samples of the search index's shadow tables).
    conn.execute("ANALYZE").await.unwrap();
}

async fn seed_postgres(url: &str) {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    for statement in seed_sql(true) {
        conn.execute(statement.as_str())
            .await
            .expect("seed PostgreSQL");
    }
    conn.execute("VACUUM ANALYZE products").await.unwrap();
    conn.execute("VACUUM ANALYZE skus").await.unwrap();
}

/// A fresh PostgreSQL database, or `None` when the server is unreachable.
async fn postgres_database() -> Option<String> {
    let url = std::env::var("SHOP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut admin = match sqlx::PgConnection::connect(&url).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("*** SKIPPED PostgreSQL: {url} is unreachable ({e}) ***");
            return None;
        }
    };
    let name = "shop_bench_large";
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

fn row(what: &str, load: &Load, baseline: Option<&Load>) {
    let ratio = baseline.map_or(String::new(), |b| format!("{:>6.2}x", load.rps / b.rps));
    println!(
        "{what:<46} {:>10.0} req/s {:>9.2} ms p99 {ratio}",
        load.rps, load.p99_ms
    );
}

async fn large_catalog(label: &str, url: &str, seconds: u64) {
    // Without the catalog cache: every request reaches the database.
    let server = shop(url, 0).await;
    let base = server.url.clone();
    println!("\n{label}: {LARGE} products, catalog cache off");
    for (what, path) in [
        (
            "GET /api/products (newest first)",
            "/api/products".to_owned(),
        ),
        (
            "GET /api/products?sort=price_asc",
            "/api/products?sort=price_asc".to_owned(),
        ),
        (
            "GET /api/products?page=50",
            "/api/products?page=50".to_owned(),
        ),
        (
            "GET /api/products?keyword=<rare word>",
            format!("/api/products?keyword={RARE}"),
        ),
    ] {
        let load = wrk(&format!("{base}{path}"), seconds);
        row(what, &load, None);
    }
    server.stop().await;
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!(
            "HTTP benchmark, {} (wrk -t1 -c32 -d{seconds}s, server in this process, 2 workers)",
            chrono::Utc::now().format("%Y-%m-%d")
        );
        let hello = hello_world().await;
        let baseline = wrk(&format!("http://{hello}/"), seconds);
        row("axum hello-world (baseline)", &baseline, Some(&baseline));
        let demo = temp_sqlite("demo.db");
        for (cache_ms, label) in [(1000, "cache on (default)"), (0, "cache off")] {
            let server = shop(&demo, cache_ms).await;
            let base = server.url.clone();
            let product = first_product(&base).await;
            let list = wrk(&format!("{base}/api/products"), seconds);
            row(
                &format!("GET /api/products, {label}"),
                &list,
                Some(&baseline),
            );
            let detail = wrk(&format!("{base}/api/products/{product}"), seconds);
            row(
                &format!("GET /api/products/{{id}}, {label}"),
                &detail,
                Some(&baseline),
            );
            server.stop().await;
        }

        let url = temp_sqlite("large.db");
        {
            // Migrate through the store, then seed straight into the file.
            let store = shop_storage_sql::SqliteStore::connect(&url).await.unwrap();
            store.migrate().await.unwrap();
        }
        let seeded = Instant::now();
        seed_sqlite(&url).await;
        println!("\nseeded SQLite in {:.1} s", seeded.elapsed().as_secs_f64());
        large_catalog("SQLite", &url, seconds).await;

        if let Some(url) = postgres_database().await {
            {
                let store = shop_storage_sql::PgStore::connect(&url).await.unwrap();
                store.migrate().await.unwrap();
            }
            let seeded = Instant::now();
            seed_postgres(&url).await;
            eprintln!(
                "seeded PostgreSQL in {:.1} s",
                seeded.elapsed().as_secs_f64()
            );
            large_catalog("PostgreSQL", &url, seconds).await;
        }
        println!("\npeak RSS of this process: {:.0} MiB", peak_rss_mib());
    });
}
