//! The baselines: the statements `Shop::place_order` issues on each
//! backend, sent raw through sqlx with no shop layer (no validation, no
//! decoding into domain types, no ports).

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shop_core::Stores;
use shop_storage_sql::SqliteStore;
use sqlx::SqlitePool;

use super::{run_ours, setup, Best, Config, Setup, ROUNDS};

static NEXT_ID: AtomicI64 = AtomicI64::new(1 << 40);

pub(super) fn next_id() -> i64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

async fn sqlite_store(name: &str) -> SqliteStore {
    let dir = std::env::temp_dir().join("shop-bench");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let path = dir.join(format!("{name}-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("sqlite");
    store.migrate().await.expect("migrate");
    store
}

/// One raw checkout on SQLite; `false` when sold out.
async fn sqlite_checkout(
    pool: &SqlitePool,
    user: i64,
    address: i64,
    sku: i64,
    product: i64,
) -> bool {
    sqlx::query("SELECT * FROM shop_addresses WHERE id = ?")
        .bind(address)
        .fetch_optional(pool)
        .await
        .expect("address");
    sqlx::query(
        "SELECT id, product_id, title, description, price, currency, stock FROM shop_skus \
         WHERE id IN (?) ORDER BY id",
    )
    .bind(sku)
    .fetch_all(pool)
    .await
    .expect("skus");
    sqlx::query(
        "SELECT id, kind, title, long_title, description, image, on_sale, category_id, \
         properties, rating, sold_count, review_count, price, currency, created_at, updated_at \
         FROM shop_products WHERE id IN (?) ORDER BY id",
    )
    .bind(product)
    .fetch_all(pool)
    .await
    .expect("products");
    let now = chrono::Utc::now().timestamp_micros();
    let (order, item) = (next_id(), next_id());
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.expect("begin");
    sqlx::query(
        "INSERT INTO shop_orders (id, no, user_id, kind, address, zip, contact_name, contact_phone, \
         items_total, total, currency, coupon_id, remark, status, refund_status, created_at, \
         expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(order)
    .bind(format!("RAW{order}"))
    .bind(user)
    .bind("normal")
    .bind("Zhejiang Hangzhou 1 Lake Rd")
    .bind("")
    .bind("Wang")
    .bind("139")
    .bind("9.90")
    .bind("9.90")
    .bind("CNY")
    .bind(None::<i64>)
    .bind("")
    .bind("pending")
    .bind("none")
    .bind(now)
    .bind(now + 1_800_000_000)
    .execute(&mut *tx)
    .await
    .expect("insert order");
    sqlx::query(
        "INSERT INTO shop_order_items (id, order_id, line_no, product_id, sku_id, quantity, \
         unit_price) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(item)
    .bind(order)
    .bind(0i64)
    .bind(product)
    .bind(sku)
    .bind(1i64)
    .bind("9.90")
    .execute(&mut *tx)
    .await
    .expect("insert item");
    sqlx::query("DELETE FROM shop_cart_items WHERE user_id = ? AND sku_id IN (?)")
        .bind(user)
        .bind(sku)
        .execute(&mut *tx)
        .await
        .expect("cart");
    let done = sqlx::query("UPDATE shop_skus SET stock = stock - ? WHERE id = ? AND stock >= ?")
        .bind(1i64)
        .bind(sku)
        .bind(1i64)
        .execute(&mut *tx)
        .await
        .expect("stock");
    if done.rows_affected() == 0 {
        sqlx::query("SELECT id, stock FROM shop_skus WHERE id IN (?)")
            .bind(sku)
            .fetch_all(&mut *tx)
            .await
            .expect("stock read");
        tx.rollback().await.expect("rollback");
        return false;
    }
    // The order's events, as the outbox records them.
    let (placed, stock) = outbox_payloads(order, user, product, sku);
    sqlx::query(
        "INSERT INTO shop_outbox (aggregate_type, aggregate_id, event_type, version, payload, \
         occurred_at) VALUES (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?)",
    )
    .bind("order")
    .bind(order)
    .bind("order_placed")
    .bind(1i64)
    .bind(placed)
    .bind(now)
    .bind("product")
    .bind(product)
    .bind("stock_changed")
    .bind(1i64)
    .bind(stock)
    .bind(now)
    .execute(&mut *tx)
    .await
    .expect("outbox");
    tx.commit().await.expect("commit");
    sqlx::query(
        "UPDATE shop_addresses SET user_id = ?, province = ?, city = ?, district = ?, street = ?, \
         zip = ?, contact_name = ?, contact_phone = ?, last_used_at = ? WHERE id = ?",
    )
    .bind(user)
    .bind("Zhejiang")
    .bind("Hangzhou")
    .bind("")
    .bind("1 Lake Rd")
    .bind("")
    .bind("Wang")
    .bind("139")
    .bind(now)
    .bind(address)
    .execute(pool)
    .await
    .expect("address used");
    true
}

/// Every buyer loops on `checkout` until it reports the SKU sold out.
pub(super) async fn run_raw<F, Fut>(s: &Setup, checkout: F) -> (u32, Duration)
where
    F: Fn(i64, i64, i64, i64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let start = Instant::now();
    let tasks: Vec<_> = s
        .addresses
        .iter()
        .map(|&(user, address)| {
            let checkout = checkout.clone();
            let (sku, product) = (s.sku.id.0, s.sku.product_id.0);
            tokio::spawn(async move {
                let mut placed = 0u32;
                while checkout(user.0, address.0, sku, product).await {
                    placed += 1;
                }
                placed
            })
        })
        .collect();
    let mut placed = 0;
    for t in tasks {
        placed += t.await.expect("buyer task");
    }
    (placed, start.elapsed())
}

/// Alternates baseline and ours, `ROUNDS` times each on fresh databases, and
/// reports the best run of each (so neither side gains from going second).
pub(super) async fn sqlite(cfg: &Config) {
    let mut best = Best::default();
    for round in 0..ROUNDS {
        let raw_store = sqlite_store(&format!("raw{round}")).await;
        let pool = raw_store.pool().clone();
        let raw = setup(Stores::from_backend(Arc::new(raw_store)), cfg).await;
        let raw_run = run_raw(&raw, move |user, address, sku, product| {
            let pool = pool.clone();
            async move { sqlite_checkout(&pool, user, address, sku, product).await }
        })
        .await;
        let ours_store = sqlite_store(&format!("ours{round}")).await;
        let ours = setup(Stores::from_backend(Arc::new(ours_store)), cfg).await;
        best.record(run_ours(&ours).await, raw_run);
    }
    best.report("sqlite", cfg);
}

/// The JSON of the two events an order of one unit records (order placed,
/// stock changed), as the outbox stores them.
pub(super) fn outbox_payloads(order: i64, user: i64, product: i64, sku: i64) -> (String, String) {
    let placed = format!(
        "{{\"type\":\"order_placed\",\"order_id\":\"{order}\",\"order_no\":\"RAW{order}\",\
         \"user_id\":\"{user}\",\"lines\":[{{\"product_id\":\"{product}\",\"sku_id\":\"{sku}\",\
         \"quantity\":1,\"unit_price\":{{\"amount\":\"9.90\",\"currency\":\"CNY\"}}}}],\
         \"total\":{{\"amount\":\"9.90\",\"currency\":\"CNY\"}},\"coupon_id\":null,\"expires_at\":\"\"}}"
    );
    let stock = format!(
        "{{\"type\":\"stock_changed\",\"sku_id\":\"{sku}\",\"product_id\":\"{product}\",\
         \"delta\":-1,\"reason\":\"order_placed\"}}"
    );
    (placed, stock)
}
