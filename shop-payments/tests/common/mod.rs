//! Shared set-up: a shop on the in-memory backend with a manual clock and
//! an event recorder, a fake provider server.
#![allow(dead_code, unreachable_pub)]

pub mod fake_http;
pub mod fake_wechat;
pub mod wechat;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use shop_core::catalog::{ProductDraft, ProductKind, Sku, SkuDraft};
use shop_core::clock::ManualClock;
use shop_core::events::{DomainEvent, EventEnvelope, EventListener};
use shop_core::ids::{SequentialIds, UserId};
use shop_core::order::Order;
use shop_core::payment::PaymentGateway;
use shop_core::service::{OrderLineRequest, PlaceOrderRequest};
use shop_core::user::AddressDraft;
use shop_core::{Currency, Money, Shop, Stores};

pub const ALICE: UserId = UserId(1);

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

pub fn money(s: &str, currency: Currency) -> Money {
    Money::parse(s, currency).unwrap()
}

/// Records every event.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<DomainEvent>>);

#[async_trait]
impl EventListener for Recorder {
    fn name(&self) -> &str {
        "test.recorder"
    }

    async fn on_event(&self, envelope: &EventEnvelope) -> shop_core::Result<()> {
        self.0.lock().unwrap().push(envelope.event.clone());
        Ok(())
    }
}

impl Recorder {
    pub fn count(&self, f: impl Fn(&DomainEvent) -> bool) -> usize {
        self.0.lock().unwrap().iter().filter(|e| f(e)).count()
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

pub struct World {
    pub shop: Shop,
    pub clock: Arc<ManualClock>,
    pub events: Arc<Recorder>,
}

/// A shop with `gateway` on a fresh SQLite database (a real storage
/// backend), at [`start`].
pub async fn world_on_sqlite(gateway: Arc<dyn PaymentGateway>, clock: Arc<ManualClock>) -> World {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("payments-sqlite");
    std::fs::create_dir_all(&dir).expect("temp dir");
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("{}-{nanos}-{n}.db", std::process::id()));
    let store = shop_storage_sql::SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open sqlite");
    store.migrate().await.expect("migrate");
    world_on(Stores::from_backend(Arc::new(store)), gateway, clock)
}

/// A shop with `gateway` on `stores`, at [`start`].
pub fn world_on(
    stores: Stores,
    gateway: Arc<dyn PaymentGateway>,
    clock: Arc<ManualClock>,
) -> World {
    let events = Arc::new(Recorder::default());
    let shop = Shop::builder(stores)
        .clock(clock.clone())
        .ids(Arc::new(SequentialIds::default()))
        .gateway(gateway)
        .listener(events.clone())
        .build();
    World {
        shop,
        clock,
        events,
    }
}

impl World {
    /// Dispatches the outbox, then counts the recorded events that match.
    pub async fn count_events(&self, f: impl Fn(&DomainEvent) -> bool) -> usize {
        self.shop.dispatch_events().await.unwrap();
        self.events.count(f)
    }
}

impl World {
    /// A product with one SKU at `price` with `stock`.
    pub async fn sku(&self, price: Money, stock: u32) -> Sku {
        let (_, skus) = self
            .shop
            .create_product(
                ProductDraft {
                    kind: ProductKind::Normal,
                    title: "Phone".into(),
                    long_title: "Phone, long".into(),
                    description: "a thing".into(),
                    image: "https://img.invalid/1.png".into(),
                    on_sale: true,
                    category_id: None,
                    properties: vec![],
                },
                vec![SkuDraft {
                    title: "64GB".into(),
                    description: String::new(),
                    price,
                    stock,
                }],
            )
            .await
            .unwrap();
        skus.into_iter().next().unwrap()
    }

    /// Places an order of `qty` × `sku` for `user`.
    pub async fn order(&self, user: UserId, sku: &Sku, qty: i64) -> Order {
        let address = self
            .shop
            .create_address(
                user,
                AddressDraft {
                    province: "Guangdong".into(),
                    city: "Shenzhen".into(),
                    district: "Nanshan".into(),
                    street: "1 Keji Rd".into(),
                    zip: "518000".into(),
                    contact_name: "Li Lei".into(),
                    contact_phone: "13800000000".into(),
                },
            )
            .await
            .unwrap();
        self.shop
            .place_order(
                user,
                PlaceOrderRequest {
                    address_id: address.id,
                    items: vec![OrderLineRequest {
                        sku_id: sku.id,
                        quantity: qty,
                    }],
                    coupon_code: None,
                    remark: String::new(),
                    submit_token: None,
                },
            )
            .await
            .unwrap()
    }

    pub async fn stock(&self, sku: &Sku) -> u32 {
        self.shop.sku(sku.id).await.unwrap().stock
    }
}
