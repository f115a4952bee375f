//! Flash-sale takes per second: a crowd of attempts through
//! `Shop::seckill_order` (the Redis stock in front of SQLite), side by side
//! in the same run with the raw `EVALSHA` of the same take script through
//! the redis crate, at the same concurrency; prints the ratio.
//!
//! Run: `cargo bench -p shop-storage-redis --bench seckill` (needs Redis at
//! `SHOP_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`).
//! Knobs: `SHOP_BENCH_ATTEMPTS` (50000), `SHOP_BENCH_UNITS` (1000),
//! `SHOP_BENCH_BUYERS` (5000), `SHOP_BENCH_CONCURRENCY` (64).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use shop_core::catalog::{ProductDraft, ProductKind, SkuDraft};
use shop_core::ids::{AddressId, FlashSaleId, UserId};
use shop_core::seckill::{FlashSale, FlashSaleDraft, FlashSaleLedger, SeckillStock};
use shop_core::user::AddressDraft;
use shop_core::{Currency, Money, Shop, Stores};
use shop_storage_redis::redis::Script;
use shop_storage_redis::RedisStore;
use shop_storage_sql::SqliteStore;

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

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let attempts = env_usize("SHOP_BENCH_ATTEMPTS", 50_000);
    let units = env_usize("SHOP_BENCH_UNITS", 1_000) as u32;
    let buyers = env_usize("SHOP_BENCH_BUYERS", 5_000);
    let concurrency = env_usize("SHOP_BENCH_CONCURRENCY", 64);
    let url = std::env::var("SHOP_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("shopbench:{}:", std::process::id());
    let redis = Arc::new(
        RedisStore::connect(&url, prefix.clone())
            .await
            .expect("Redis"),
    );
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("seckill-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sql = Arc::new(
        SqliteStore::connect(&format!("sqlite://{}", dir.join("shop.db").display()))
            .await
            .unwrap(),
    );
    sql.migrate().await.unwrap();
    let shop = Shop::builder(Stores::from_backend(sql.clone()))
        .seckill_stock(redis.clone())
        .build();

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
    let mut people: Vec<(UserId, AddressId)> = Vec::with_capacity(buyers);
    for i in 0..buyers {
        let user = UserId(10_000_000 + i as i64);
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
        people.push((user, address.id));
    }
    let people = Arc::new(people);

    // Through the shop.
    let won = Arc::new(AtomicUsize::new(0));
    let through_shop = {
        let (shop, people, won) = (shop.clone(), people.clone(), won.clone());
        crowd(attempts, concurrency, move |i| {
            let (shop, won) = (shop.clone(), won.clone());
            let (user, address) = people[i % people.len()];
            async move {
                if shop.seckill_order(user, sku, address).await.is_ok() {
                    won.fetch_add(1, Ordering::Relaxed);
                }
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
    let take = Arc::new(Script::new(include_str!("../src/lua/seckill_take.lua")));
    let client = shop_storage_redis::redis::Client::open(url.as_str()).unwrap();
    let conn = client.get_connection_manager().await.unwrap();
    let tag = format!("{{fs:{}}}", raw_sale.id.0);
    let (sale_key, takers) = (
        format!("{prefix}{tag}:sale"),
        format!("{prefix}{tag}:takers"),
    );
    let raw_won = Arc::new(AtomicUsize::new(0));
    let raw = {
        let (people, raw_won) = (people.clone(), raw_won.clone());
        crowd(attempts, concurrency, move |i| {
            let (take, mut conn, raw_won) = (take.clone(), conn.clone(), raw_won.clone());
            let (sale_key, takers) = (sale_key.clone(), takers.clone());
            let user = people[i % people.len()].0;
            async move {
                let code: i64 = take
                    .key(&sale_key)
                    .key(&takers)
                    .arg(user.0)
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
    redis.clear().await.unwrap();

    let shop_rate = attempts as f64 / through_shop;
    let raw_rate = attempts as f64 / raw;
    println!("{attempts} attempts from {buyers} buyers on {units} units, {concurrency} at a time:");
    println!(
        "{:<44} {:>10.0} takes/s",
        "Shop::seckill_order (Redis + SQLite)", shop_rate
    );
    println!(
        "{:<44} {:>10.0} takes/s",
        "raw EVALSHA of the take script", raw_rate
    );
    println!("ratio shop / raw: {:.2}", shop_rate / raw_rate);
}
