//! The PostgreSQL side of the benchmark: ours and the raw baseline, each on
//! a fresh schema that is dropped afterwards.

use std::sync::Arc;

use rust_decimal::Decimal;
use shop_core::Stores;
use shop_storage_sql::PgStore;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};

use super::raw::{next_id, outbox_payloads, run_raw};
use super::{run_ours, setup, Best, Config, ROUNDS};

/// A migrated store on a new schema, and the admin connection that drops it.
async fn fresh(url: &str, schema: &str) -> Option<(PgStore, PgConnection)> {
    let options: PgConnectOptions = url.parse().ok()?;
    let mut admin = match PgConnection::connect_with(&options).await {
        Ok(c) => c,
        Err(e) => {
            println!("postgres   skipped: {url} unreachable ({e})");
            return None;
        }
    };
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .expect("drop old schema");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .expect("create schema");
    let store = PgStore::connect_with(options.options([("search_path", schema)]), 10)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    Some((store, admin))
}

async fn drop_schema(mut admin: PgConnection, schema: &str) {
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .expect("drop schema");
}

/// One raw checkout on PostgreSQL, the statements `Shop::place_order`
/// sends; `false` when sold out.
async fn checkout(pool: &PgPool, user: i64, address: i64, sku: i64, product: i64) -> bool {
    sqlx::query("SELECT * FROM shop_addresses WHERE id = $1")
        .bind(address)
        .fetch_optional(pool)
        .await
        .expect("address");
    sqlx::query(
        "SELECT id, product_id, title, description, price, currency, stock FROM shop_skus \
         WHERE id IN ($1) ORDER BY id",
    )
    .bind(sku)
    .fetch_all(pool)
    .await
    .expect("skus");
    sqlx::query(
        "SELECT id, kind, title, long_title, description, image, on_sale, category_id, \
         properties, rating, sold_count, review_count, price, currency, created_at, updated_at \
         FROM shop_products WHERE id IN ($1) ORDER BY id",
    )
    .bind(product)
    .fetch_all(pool)
    .await
    .expect("products");
    let now = chrono::Utc::now();
    let price = Decimal::new(990, 2);
    let (order, item) = (next_id(), next_id());
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query(
        "INSERT INTO shop_orders (id, no, user_id, kind, address, zip, contact_name, contact_phone, \
         items_total, total, currency, coupon_id, remark, status, refund_status, created_at, \
         expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(order)
    .bind(format!("RAW{order}"))
    .bind(user)
    .bind("normal")
    .bind("Zhejiang Hangzhou 1 Lake Rd")
    .bind("")
    .bind("Wang")
    .bind("139")
    .bind(price)
    .bind(price)
    .bind("CNY")
    .bind(None::<i64>)
    .bind("")
    .bind("pending")
    .bind("none")
    .bind(now)
    .bind(now + chrono::Duration::minutes(30))
    .execute(&mut *tx)
    .await
    .expect("insert order");
    sqlx::query(
        "INSERT INTO shop_order_items (id, order_id, line_no, product_id, sku_id, quantity, \
         unit_price) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(item)
    .bind(order)
    .bind(0i64)
    .bind(product)
    .bind(sku)
    .bind(1i64)
    .bind(price)
    .execute(&mut *tx)
    .await
    .expect("insert item");
    sqlx::query("DELETE FROM shop_cart_items WHERE user_id = $1 AND sku_id IN ($2)")
        .bind(user)
        .bind(sku)
        .execute(&mut *tx)
        .await
        .expect("cart");
    let done = sqlx::query("UPDATE shop_skus SET stock = stock - $1 WHERE id = $2 AND stock >= $3")
        .bind(1i64)
        .bind(sku)
        .bind(1i64)
        .execute(&mut *tx)
        .await
        .expect("stock");
    if done.rows_affected() == 0 {
        sqlx::query("SELECT id, stock FROM shop_skus WHERE id IN ($1)")
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
         occurred_at) VALUES ($1, $2, $3, $4, $5, $6), ($7, $8, $9, $10, $11, $12)",
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
        "UPDATE shop_addresses SET user_id = $1, province = $2, city = $3, district = $4, \
         street = $5, zip = $6, contact_name = $7, contact_phone = $8, last_used_at = $9 \
         WHERE id = $10",
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

/// Alternates baseline and ours, `ROUNDS` times each, best run counts.
pub(super) async fn postgres(cfg: &Config) {
    let url = std::env::var("SHOP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut best = Best::default();
    for round in 0..ROUNDS {
        let schema = format!("shop_bench_{}_raw{round}", std::process::id());
        let Some((store, admin)) = fresh(&url, &schema).await else {
            return;
        };
        let pool = store.pool().clone();
        let raw = setup(Stores::from_backend(Arc::new(store)), cfg).await;
        let raw_run = run_raw(&raw, move |user, address, sku, product| {
            let pool = pool.clone();
            async move { checkout(&pool, user, address, sku, product).await }
        })
        .await;
        drop(raw);
        drop_schema(admin, &schema).await;

        let schema = format!("shop_bench_{}_ours{round}", std::process::id());
        let Some((store, admin)) = fresh(&url, &schema).await else {
            return;
        };
        let ours = setup(Stores::from_backend(Arc::new(store)), cfg).await;
        let ours_run = run_ours(&ours).await;
        drop(ours);
        drop_schema(admin, &schema).await;
        best.record(ours_run, raw_run);
    }
    best.report("postgres", cfg);
}
