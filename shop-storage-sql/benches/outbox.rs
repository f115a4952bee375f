//! What the outbox costs a checkout, and how fast it dispatches, on
//! PostgreSQL.
//!
//! Buyers place one-line orders concurrently, each on a SKU of its own
//! (the usual checkout, not one hot SKU), through `Shop::place_order` —
//! once as shipped (the order's events are inserted in the placement's
//! transaction) and once with the events dropped before they reach the
//! store (the same placement without an outbox). The two sides alternate
//! over the rounds on one database; each side's best round counts. Then a
//! dispatcher hands every recorded event to a listener that does nothing,
//! recording its progress after each event, and the events per second are
//! printed.
//!
//! Run: `cargo bench -p shop-storage-sql --features postgres --bench outbox`
//! Knobs: `SHOP_BENCH_ORDERS` (orders per round, default 3000),
//! `SHOP_BENCH_BUYERS` (32), `SHOP_TEST_POSTGRES_URL`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::catalog::{ProductDraft, ProductKind, SkuDraft};
use shop_core::events::{EventEnvelope, EventListener, EventRecord};
use shop_core::ids::{AddressId, OrderId, ProductId, SequentialIds, SkuId, UserId};
use shop_core::order::{
    Order, OrderPatch, OrderQuery, OrderState, OrderStore, PlaceOrder, ProductReview, ReviewOrder,
};
use shop_core::page::Page;
use shop_core::service::{OrderLineRequest, PlaceOrderRequest};
use shop_core::user::AddressDraft;
use shop_core::{Currency, Money, Shop, Stores};
use shop_storage_sql::PgStore;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

const SCHEMA: &str = "shop_bench_outbox";

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The store's orders with every event dropped on the way in: the same
/// placement, without an outbox.
struct WithoutOutbox(Arc<PgStore>);

#[async_trait]
impl OrderStore for WithoutOutbox {
    async fn place_order(&self, cmd: &PlaceOrder, _: &[EventRecord]) -> shop_core::Result<Order> {
        self.0.place_order(cmd, &[]).await
    }
    async fn get_order(&self, id: OrderId) -> shop_core::Result<Option<Order>> {
        self.0.get_order(id).await
    }
    async fn get_order_by_no(&self, no: &str) -> shop_core::Result<Option<Order>> {
        self.0.get_order_by_no(no).await
    }
    async fn list_orders(&self, q: &OrderQuery) -> shop_core::Result<Page<Order>> {
        self.0.list_orders(q).await
    }
    async fn transition(
        &self,
        id: OrderId,
        expected: OrderState,
        next: OrderState,
        patch: &OrderPatch,
        _: &[EventRecord],
    ) -> shop_core::Result<()> {
        self.0.transition(id, expected, next, patch, &[]).await
    }
    async fn close_order(
        &self,
        id: OrderId,
        at: DateTime<Utc>,
        _: &[EventRecord],
    ) -> shop_core::Result<()> {
        self.0.close_order(id, at, &[]).await
    }
    async fn list_expired_orders(
        &self,
        now: DateTime<Utc>,
        after: Option<OrderId>,
        limit: u32,
    ) -> shop_core::Result<Vec<OrderId>> {
        self.0.list_expired_orders(now, after, limit).await
    }
    async fn review_order(&self, cmd: &ReviewOrder, _: &[EventRecord]) -> shop_core::Result<()> {
        self.0.review_order(cmd, &[]).await
    }
    async fn list_product_reviews(
        &self,
        product: ProductId,
        limit: u32,
    ) -> shop_core::Result<Vec<ProductReview>> {
        self.0.list_product_reviews(product, limit).await
    }
}

/// Handles every event by doing nothing.
struct Noop;

#[async_trait]
impl EventListener for Noop {
    fn name(&self) -> &str {
        "bench.noop"
    }
    async fn on_event(&self, _: &EventEnvelope) -> shop_core::Result<()> {
        Ok(())
    }
}

async fn fresh(url: &str) -> Option<(PgStore, PgConnection)> {
    let options: PgConnectOptions = url.parse().ok()?;
    let mut admin = match PgConnection::connect_with(&options).await {
        Ok(c) => c,
        Err(e) => {
            println!("skipped: {url} unreachable ({e})");
            return None;
        }
    };
    for statement in [
        format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"),
        format!("CREATE SCHEMA {SCHEMA}"),
    ] {
        sqlx::query(&statement)
            .execute(&mut admin)
            .await
            .expect("schema");
    }
    let store = PgStore::connect_with(options.options([("search_path", SCHEMA)]), 10)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    Some((store, admin))
}

/// Each buyer with an address and a SKU of its own.
async fn buyers(shop: &Shop, n: u32) -> Vec<(UserId, AddressId, SkuId)> {
    let mut out = Vec::new();
    for b in 0..n {
        let (_, skus) = shop
            .create_product(
                ProductDraft {
                    kind: ProductKind::Normal,
                    title: format!("Item {b}"),
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
                    stock: 1_000_000,
                }],
            )
            .await
            .expect("product");
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
        out.push((user, address.id, skus[0].id));
    }
    out
}

/// `orders` placements spread over the buyers, all at once; the time.
async fn round(shop: &Shop, buyers: &[(UserId, AddressId, SkuId)], orders: u32) -> Duration {
    let each = orders / buyers.len() as u32;
    let start = Instant::now();
    let tasks: Vec<_> = buyers
        .iter()
        .map(|&(user, address, sku)| {
            let shop = shop.clone();
            tokio::spawn(async move {
                for _ in 0..each {
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
                    shop.place_order(user, req).await.expect("checkout");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("buyer");
    }
    start.elapsed()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let orders = env_u32("SHOP_BENCH_ORDERS", 3000);
    let buyer_count = env_u32("SHOP_BENCH_BUYERS", 32);
    let url = std::env::var("SHOP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let Some((store, mut admin)) = fresh(&url).await else {
        return;
    };
    let store = Arc::new(store);
    let with = Shop::builder(Stores::from_backend(store.clone()))
        .ids(Arc::new(SequentialIds::starting_at(1)))
        .listener(Arc::new(Noop))
        .build();
    let mut stores = Stores::from_backend(store.clone());
    stores.orders = Arc::new(WithoutOutbox(store.clone()));
    let without = Shop::builder(stores)
        .ids(Arc::new(SequentialIds::starting_at(1_000_000_000)))
        .build();
    // Registered before the checkouts: it will be handed all their events.
    with.dispatch_events().await.expect("register");
    let buyers = buyers(&with, buyer_count).await;
    // Warm the pool and the caches.
    round(&without, &buyers, buyer_count * 4).await;
    round(&with, &buyers, buyer_count * 4).await;

    let rate = |t: Duration| f64::from(orders / buyer_count * buyer_count) / t.as_secs_f64();
    let (mut best_without, mut best_with) = (0f64, 0f64);
    for _ in 0..3 {
        best_without = best_without.max(rate(round(&without, &buyers, orders).await));
        best_with = best_with.max(rate(round(&with, &buyers, orders).await));
    }
    println!(
        "checkout on PostgreSQL, {buyer_count} buyers each on a SKU of its own, \
         {orders} one-line orders per round, best of 3"
    );
    println!("{:<28} {:>10}", "", "orders/s");
    println!("{:<28} {:>10.0}", "without the outbox", best_without);
    println!("{:<28} {:>10.0}", "with the outbox", best_with);
    println!(
        "{:<28} {:>9.1} %",
        "outbox cost",
        (1.0 - best_with / best_without) * 100.0
    );

    let lag = with
        .outbox_status()
        .await
        .expect("status")
        .lag("bench.noop")
        .unwrap_or_default();
    let start = Instant::now();
    let mut delivered = 0u64;
    loop {
        let report = with.dispatch_events().await.expect("dispatch");
        delivered += report.delivered;
        if with
            .outbox_status()
            .await
            .expect("status")
            .lag("bench.noop")
            == Some(0)
        {
            break;
        }
    }
    let took = start.elapsed();
    println!(
        "dispatch: {lag} events to each of 2 listeners (a no-op one and the product \
         counters), {delivered} handed over in {:.2} s: {:.0} events/s",
        took.as_secs_f64(),
        delivered as f64 / took.as_secs_f64()
    );
    drop(with);
    drop(without);
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        .execute(&mut admin)
        .await
        .expect("drop schema");
}
