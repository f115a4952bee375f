//! The MySQL/MariaDB side of the benchmark: ours and the raw baseline, each
//! on a fresh database that is dropped afterwards.

use std::sync::Arc;

use rust_decimal::Decimal;
use shop_core::Stores;
use shop_storage_sql::MySqlStore;
use sqlx::{Connection, Executor, MySqlConnection, MySqlPool};

use super::raw::{next_id, outbox_payloads, run_raw};
use super::{run_ours, setup, Best, Config, ROUNDS};

/// `url` with its database replaced by `db`.
fn database_url(url: &str, db: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let root = match url[authority..].find('/') {
        Some(i) => &url[..authority + i],
        None => url,
    };
    format!("{root}/{db}")
}

/// A migrated store on a new database, and the admin connection that drops it.
async fn fresh(url: &str, db: &str) -> Option<(MySqlStore, MySqlConnection)> {
    let mut admin = match MySqlConnection::connect(url).await {
        Ok(c) => c,
        Err(e) => {
            println!("mysql      skipped: {url} unreachable ({e})");
            return None;
        }
    };
    admin
        .execute(format!("DROP DATABASE IF EXISTS `{db}`").as_str())
        .await
        .expect("drop old database");
    admin
        .execute(format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4").as_str())
        .await
        .expect("create database");
    let store = MySqlStore::connect_with(&database_url(url, db), 10)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    Some((store, admin))
}

async fn drop_database(mut admin: MySqlConnection, db: &str) {
    admin
        .execute(format!("DROP DATABASE IF EXISTS `{db}`").as_str())
        .await
        .expect("drop database");
}

/// One raw checkout on MySQL, the statements `Shop::place_order`
/// sends; `false` when sold out.
async fn checkout(pool: &MySqlPool, user: i64, address: i64, sku: i64, product: i64) -> bool {
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
    let now = chrono::Utc::now();
    let price = Decimal::new(990, 2);
    let (order, item) = (next_id(), next_id());
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query(
        "INSERT INTO shop_orders (id, no, user_id, kind, address, zip, contact_name, contact_phone, \
         items_total, total, currency, coupon_id, remark, status, refund_status, created_at, \
         expires_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
         unit_price) VALUES (?, ?, ?, ?, ?, ?, ?)",
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
        "UPDATE shop_addresses SET user_id = ?, province = ?, city = ?, district = ?, \
         street = ?, zip = ?, contact_name = ?, contact_phone = ?, last_used_at = ? \
         WHERE id = ?",
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
pub(super) async fn mysql(cfg: &Config) {
    let url = std::env::var("SHOP_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned());
    let mut best = Best::default();
    for round in 0..ROUNDS {
        let db = format!("shop_bench_{}_raw{round}", std::process::id());
        let Some((store, admin)) = fresh(&url, &db).await else {
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
        drop_database(admin, &db).await;

        let db = format!("shop_bench_{}_ours{round}", std::process::id());
        let Some((store, admin)) = fresh(&url, &db).await else {
            return;
        };
        let ours = setup(Stores::from_backend(Arc::new(store)), cfg).await;
        let ours_run = run_ours(&ours).await;
        drop(ours);
        drop_database(admin, &db).await;
        best.record(ours_run, raw_run);
    }
    best.report("mysql", cfg);
}
