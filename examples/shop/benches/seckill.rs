//! Flash-sale attempts per second over HTTP: `POST /api/seckill/{sku}/orders`
//! on the example shop (SQLite + Redis: sessions, rate limits and the
//! flash-sale stock in Redis), side by side in one run with the raw
//! `EVALSHA` of the same take script through the redis crate, and with an
//! axum hello-world answered over the same client for the HTTP ceiling.
//!
//! ```sh
//! cargo bench -p shop-example --bench seckill   # needs Redis (SHOP_TEST_REDIS_URL)
//! ```
//!
//! Knobs: `SHOP_BENCH_ATTEMPTS` (20000), `SHOP_BENCH_UNITS` (100),
//! `SHOP_BENCH_BUYERS` (2000), `SHOP_BENCH_CONCURRENCY` (64). The load
//! comes from this process (reqwest, keep-alive), on the same two cores as
//! the server; the ratios carry over to another machine, not the figures.
//! Buyers, their sessions and addresses are written through the library
//! before the run (registering 2,000 accounts over HTTP would spend the
//! run on argon2).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use shop_core::account::{Account, Role, Session};
use shop_core::catalog::{ProductDraft, ProductKind, SkuDraft};
use shop_core::ids::{FlashSaleId, UserId};
use shop_core::seckill::{FlashSale, FlashSaleDraft, FlashSaleLedger, SeckillStock};
use shop_core::user::AddressDraft;
use shop_core::{Currency, Money};
use shop_example::{start, Config};
use shop_storage_redis::redis::Script;
use shop_storage_redis::RedisStore;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `attempts` calls of `one(i)` on `concurrency` tasks; seconds taken.
async fn crowd<F, Fut>(attempts: usize, concurrency: usize, one: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let one = Arc::new(one);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, one) = (next.clone(), one.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= attempts {
                        break;
                    }
                    one(i).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("a task");
    }
    started.elapsed().as_secs_f64()
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let attempts = env_usize("SHOP_BENCH_ATTEMPTS", 20_000);
    let units = env_usize("SHOP_BENCH_UNITS", 100) as u32;
    let buyers = env_usize("SHOP_BENCH_BUYERS", 2_000);
    let concurrency = env_usize("SHOP_BENCH_CONCURRENCY", 64);
    let redis_url = std::env::var("SHOP_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("shopbench:{}:", std::process::id());

    let dir = std::env::temp_dir().join(format!("shop-seckill-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = Config::new(format!("sqlite://{}", dir.join("shop.db").display()));
    config.redis_url = Some(redis_url.clone());
    config.redis_prefix = prefix.clone();
    config.rate_limit_per_minute = 10_000_000;
    config.search_dir = Some(dir.join("search").display().to_string());
    config.log_level = tracing::Level::WARN;
    let server = start(&config, Arc::new(shop_notify::LogNotifier::default()))
        .await
        .expect("start the shop (is Redis up?)");
    let shop = server.state.shop.clone();
    let base = server.url.clone();

    let (_, skus) = shop
        .create_product(
            ProductDraft {
                kind: ProductKind::Seckill,
                title: "Flash phone".into(),
                long_title: String::new(),
                description: "One per buyer.".into(),
                image: String::new(),
                on_sale: true,
                category_id: None,
                properties: Vec::new(),
            },
            vec![SkuDraft {
                title: "Black".into(),
                description: String::new(),
                price: Money::parse("2999.00", Currency::Cny).unwrap(),
                stock: 0,
            }],
        )
        .await
        .unwrap();
    let sku = skus[0].id;
    let now = Utc::now();
    let sale = shop
        .create_flash_sale(FlashSaleDraft {
            sku_id: sku,
            price: Money::parse("1.00", Currency::Cny).unwrap(),
            quantity: units,
            starts_at: now - Duration::minutes(1),
            ends_at: now + Duration::hours(1),
        })
        .await
        .unwrap();

    // Buyers with a session each (in Redis) and an address.
    let stores = shop.stores().clone();
    let mut people: Vec<(String, String)> = Vec::with_capacity(buyers);
    for i in 0..buyers {
        let user = UserId(20_000_000 + i as i64);
        stores
            .accounts
            .create_account(&Account {
                id: user,
                email: format!("bench{i}@example.com"),
                name: format!("Buyer {i}"),
                password_hash: "unusable".into(),
                role: Role::Customer,
                email_verified_at: Some(now),
                created_at: now,
                deactivated_at: None,
                locale: Default::default(),
            })
            .await
            .unwrap();
        let token = format!("bench-session-{}-{i}", std::process::id());
        stores
            .sessions
            .create_session(&Session {
                token_hash: shop_example::security::token_digest(&token),
                user_id: user,
                created_at: now,
                expires_at: now + Duration::hours(1),
            })
            .await
            .unwrap();
        let address = shop
            .create_address(
                user,
                AddressDraft {
                    province: "Zhejiang".into(),
                    city: "Hangzhou".into(),
                    district: "Xihu".into(),
                    street: "1 Lake Rd".into(),
                    zip: "310000".into(),
                    contact_name: "Wang Fang".into(),
                    contact_phone: "13900000000".into(),
                },
            )
            .await
            .unwrap();
        people.push((
            format!("Bearer {token}"),
            format!(r#"{{"address_id":"{}"}}"#, address.id.0),
        ));
    }
    let people = Arc::new(people);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();

    // The axum hello-world: the HTTP ceiling of this client and machine.
    let hello = {
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "Hello, World!" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/")
    };
    let hello_secs = {
        let client = client.clone();
        crowd(attempts, concurrency, move |_| {
            let (client, url) = (client.clone(), hello.clone());
            async move {
                let r = client.get(&url).send().await.unwrap();
                assert!(r.status().is_success());
            }
        })
        .await
    };

    // Over HTTP.
    let won = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let http_secs = {
        let url = format!("{base}/api/seckill/{}/orders", sku.0);
        let (client, people, won, refused) =
            (client.clone(), people.clone(), won.clone(), refused.clone());
        crowd(attempts, concurrency, move |i| {
            let (client, url, won, refused) =
                (client.clone(), url.clone(), won.clone(), refused.clone());
            let (auth, body) = people[i % people.len()].clone();
            async move {
                let r = client
                    .post(&url)
                    .header("authorization", auth)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                match r.status().as_u16() {
                    201 => won.fetch_add(1, Ordering::Relaxed),
                    409 => refused.fetch_add(1, Ordering::Relaxed),
                    other => panic!("{other}: {}", r.text().await.unwrap_or_default()),
                };
            }
        })
        .await
    };
    assert_eq!(
        won.load(Ordering::Relaxed),
        units as usize,
        "exactly the units"
    );

    // The raw script on another sale of the same size.
    let redis = RedisStore::connect(&redis_url, prefix.clone())
        .await
        .unwrap();
    let raw_sale = FlashSale {
        id: FlashSaleId(sale.id.0 + 1),
        ..sale.clone()
    };
    redis
        .load(
            &raw_sale,
            &FlashSaleLedger {
                stock: units,
                buyers: Vec::new(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let take = Arc::new(Script::new(include_str!(
        "../../../shop-storage-redis/src/lua/seckill_take.lua"
    )));
    let conn = shop_storage_redis::redis::Client::open(redis_url.as_str())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    let tag = format!("{{fs:{}}}", raw_sale.id.0);
    let (sale_key, takers) = (
        format!("{prefix}{tag}:sale"),
        format!("{prefix}{tag}:takers"),
    );
    let raw_won = Arc::new(AtomicUsize::new(0));
    let raw_secs = {
        let raw_won = raw_won.clone();
        crowd(attempts, concurrency, move |i| {
            let (take, mut conn, raw_won) = (take.clone(), conn.clone(), raw_won.clone());
            let (sale_key, takers) = (sale_key.clone(), takers.clone());
            let user = 20_000_000 + (i % buyers) as i64;
            async move {
                let code: i64 = take
                    .key(&sale_key)
                    .key(&takers)
                    .arg(user)
                    .arg(Utc::now().timestamp_millis())
                    .invoke_async(&mut conn)
                    .await
                    .unwrap();
                if code == 1 {
                    raw_won.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .await
    };
    assert_eq!(raw_won.load(Ordering::Relaxed), units as usize);
    let rss = peak_rss_mib();
    server.stop().await;
    redis.clear().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    let rate = |secs: f64| attempts as f64 / secs;
    println!(
        "{}: {attempts} attempts from {buyers} buyers on {units} units, {concurrency} at a time",
        Utc::now().format("%Y-%m-%d")
    );
    println!(
        "{:<52} {:>10.0} /s",
        "axum hello-world (same client)",
        rate(hello_secs)
    );
    println!(
        "{:<52} {:>10.0} /s",
        "POST /api/seckill/{sku}/orders (SQLite + Redis)",
        rate(http_secs)
    );
    println!(
        "{:<52} {:>10.0} /s",
        "raw EVALSHA of the take script",
        rate(raw_secs)
    );
    println!(
        "ratio HTTP / raw EVALSHA: {:.2}; HTTP / hello-world: {:.2}; {} refused with 409",
        rate(http_secs) / rate(raw_secs),
        rate(http_secs) / rate(hello_secs),
        refused.load(Ordering::Relaxed)
    );
    println!("peak RSS of this process (server, Redis client, load): {rss:.0} MiB");
}
