//! Hot-SKU checkout benchmark: N concurrent buyers place orders for one SKU
//! until its stock is gone, through `Shop::place_order` on each backend, and
//! side by side through a baseline that sends the very same SQL statements
//! raw through sqlx (no shop layers). Prints orders/s and the ratio; each
//! side runs twice, alternating, on fresh databases, and its best run counts.
//!
//! Run: `cargo bench -p shop-storage-sql --bench hot_sku`
//! Knobs: `SHOP_BENCH_ORDERS` (default 2000), `SHOP_BENCH_BUYERS` (64), and
//! the server URLs of the tests (`SHOP_TEST_POSTGRES_URL`,
//! `SHOP_TEST_MYSQL_URL`); a backend whose server is unreachable is skipped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shop_core::catalog::{ProductDraft, ProductKind, Sku, SkuDraft};
use shop_core::ids::{AddressId, SequentialIds, UserId};
use shop_core::service::{OrderLineRequest, PlaceOrderRequest};
use shop_core::user::AddressDraft;
use shop_core::{Currency, Error, Money, Shop, Stores};

mod my;
mod pg;
mod raw;

/// One benchmark's set-up: a shop on a fresh database with one hot SKU
/// holding `orders` units and an address for each buyer.
struct Setup {
    shop: Shop,
    sku: Sku,
    addresses: Vec<(UserId, AddressId)>,
}

struct Config {
    orders: u32,
    buyers: u32,
}

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn setup(stores: Stores, cfg: &Config) -> Setup {
    let shop = Shop::builder(stores)
        .ids(Arc::new(SequentialIds::starting_at(1)))
        .build();
    let (_, mut skus) = shop
        .create_product(
            ProductDraft {
                kind: ProductKind::Normal,
                title: "Hot item".into(),
                long_title: String::new(),
                description: String::new(),
                image: String::new(),
                on_sale: true,
                category_id: None,
                properties: vec![],
            },
            vec![SkuDraft {
                title: "only".into(),
                description: String::new(),
                price: Money::parse("9.90", Currency::Cny).expect("price"),
                stock: cfg.orders,
            }],
        )
        .await
        .expect("product");
    let mut addresses = Vec::new();
    for b in 0..cfg.buyers {
        let user = UserId(1_000_000 + i64::from(b));
        let address = shop
            .create_address(
                user,
                AddressDraft {
                    province: "Zhejiang".into(),
                    city: "Hangzhou".into(),
                    district: String::new(),
                    street: "1 Lake Rd".into(),
                    zip: String::new(),
                    contact_name: "Wang".into(),
                    contact_phone: "139".into(),
                },
            )
            .await
            .expect("address");
        addresses.push((user, address.id));
    }
    Setup {
        shop,
        sku: skus.remove(0),
        addresses,
    }
}

/// Our checkout: every buyer loops on `Shop::place_order` until sold out.
async fn run_ours(s: &Setup) -> (u32, Duration) {
    let start = Instant::now();
    let tasks: Vec<_> = s
        .addresses
        .iter()
        .map(|&(user, address)| {
            let shop = s.shop.clone();
            let sku = s.sku.id;
            tokio::spawn(async move {
                let mut placed = 0u32;
                loop {
                    let req = PlaceOrderRequest {
                        address_id: address,
                        items: vec![OrderLineRequest {
                            sku_id: sku,
                            quantity: 1,
                        }],
                        coupon_code: None,
                        remark: String::new(),
                        submit_token: None,
                    };
                    match shop.place_order(user, req).await {
                        Ok(_) => placed += 1,
                        Err(Error::OutOfStock { .. }) => return placed,
                        Err(e) => panic!("checkout failed: {e}"),
                    }
                }
            })
        })
        .collect();
    let mut placed = 0;
    for t in tasks {
        placed += t.await.expect("buyer task");
    }
    (placed, start.elapsed())
}

/// How many times each side runs; the best run counts.
const ROUNDS: usize = 2;

/// Orders placed and the time it took.
type Run = (u32, Duration);

/// The best (fastest) run of each side over the rounds.
#[derive(Default)]
struct Best {
    ours: Option<Run>,
    raw: Option<Run>,
}

impl Best {
    fn record(&mut self, ours: Run, raw: Run) {
        let faster = |old: Option<Run>, new: Run| match old {
            Some(old) if old.1 <= new.1 => old,
            _ => new,
        };
        self.ours = Some(faster(self.ours, ours));
        self.raw = Some(faster(self.raw, raw));
    }

    fn report(self, backend: &str, cfg: &Config) {
        if let (Some(ours), Some(raw)) = (self.ours, self.raw) {
            report(backend, cfg, ours, raw);
        }
    }
}

fn per_second(orders: u32, took: Duration) -> f64 {
    f64::from(orders) / took.as_secs_f64()
}

fn report(backend: &str, cfg: &Config, ours: (u32, Duration), raw: (u32, Duration)) {
    assert_eq!(ours.0, cfg.orders, "{backend}: ours sold exactly the stock");
    assert_eq!(
        raw.0, cfg.orders,
        "{backend}: baseline sold exactly the stock"
    );
    let (a, b) = (per_second(ours.0, ours.1), per_second(raw.0, raw.1));
    println!("{backend:<10} {:>12.0} {:>14.0} {:>10.2}", a, b, a / b);
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let cfg = Config {
        orders: env_u32("SHOP_BENCH_ORDERS", 2000),
        buyers: env_u32("SHOP_BENCH_BUYERS", 64),
    };
    println!(
        "hot-SKU checkout: {} buyers, {} units of one SKU, one unit per order",
        cfg.buyers, cfg.orders
    );
    println!(
        "{:<10} {:>12} {:>14} {:>10}",
        "backend", "ours ord/s", "raw sqlx ord/s", "ours/raw"
    );
    raw::sqlite(&cfg).await;
    pg::postgres(&cfg).await;
    my::mysql(&cfg).await;
}
