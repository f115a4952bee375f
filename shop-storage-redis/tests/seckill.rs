//! Flash sales with Redis in front of SQLite: the conformance suite's crowd
//! and close race through the Redis stock, reconciliation after a process
//! died between the take and the order, a Redis that lost the sale or its
//! scripts.

mod common;

use std::sync::Arc;

use chrono::Duration;
use shop_core::catalog::ProductKind;
use shop_core::conformance::fixtures::{base_time, cny};
use shop_core::conformance::shop::ShopWorld;
use shop_core::conformance::{flash_sale_close_races_payment_with, flash_sale_crowd};
use shop_core::seckill::{FlashSaleDraft, FlashSaleStore, SeckillStock, Take};
use shop_storage_sql::SqliteStore;

async fn sqlite() -> Arc<SqliteStore> {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("redis-seckill");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.db", common::unique_prefix().replace(':', "_")));
    let sql = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sql.migrate().await.unwrap();
    Arc::new(sql)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_attempts_through_redis_sell_exactly_the_units() {
    let Some(redis) = common::redis_store().await else {
        return;
    };
    flash_sale_crowd(sqlite().await, Some(Arc::new(redis)), 10_000, 2_000, 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_close_racing_a_payment_returns_the_unit_to_redis_once() {
    let Some(redis) = common::redis_store().await else {
        return;
    };
    flash_sale_close_races_payment_with(sqlite().await, Some(Arc::new(redis))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_repairs_a_crash_a_lost_sale_and_lost_scripts() {
    let Some(redis) = common::redis_store().await else {
        return;
    };
    let redis = Arc::new(redis);
    let sql = sqlite().await;
    let w = ShopWorld::with_seckill_stock(sql.clone(), Some(redis.clone()));
    let mut draft = ShopWorld::product_draft("Flash phone", "One per buyer.");
    draft.kind = ProductKind::Seckill;
    let (_, skus) = w
        .shop
        .create_product(draft, vec![ShopWorld::sku_draft("999.00", 0)])
        .await
        .unwrap();
    let sku = &skus[0];
    let sale = w
        .shop
        .create_flash_sale(FlashSaleDraft {
            sku_id: sku.id,
            price: cny("1.00"),
            quantity: 5,
            starts_at: base_time() - Duration::minutes(1),
            ends_at: base_time() + Duration::hours(1),
        })
        .await
        .unwrap();
    assert_eq!(redis.remaining(sale.id).await.unwrap(), Some(5));

    // The process takes a unit in Redis and dies before the order.
    let ghost = w.user();
    assert_eq!(
        redis.take(sale.id, ghost, w.shop.now()).await.unwrap(),
        Take::Taken
    );
    let buyer = w.user();
    let address = w.address(buyer).await;
    w.shop
        .seckill_order(buyer, sku.id, address.id)
        .await
        .unwrap();
    assert_eq!(redis.remaining(sale.id).await.unwrap(), Some(3));
    assert_eq!(sql.flash_sale_ledger(sale.id).await.unwrap().stock, 4);

    // Inside the grace period nothing moves; after it the unit is back,
    // once, and Redis agrees with the database.
    assert_eq!(w.shop.reconcile_flash_sales().await.unwrap().returned, 0);
    w.clock.advance(Duration::minutes(2));
    assert_eq!(w.shop.reconcile_flash_sales().await.unwrap().returned, 1);
    assert_eq!(w.shop.reconcile_flash_sales().await.unwrap().returned, 0);
    assert_eq!(redis.remaining(sale.id).await.unwrap(), Some(4));

    // Redis lost its scripts (a restart, SCRIPT FLUSH): they are loaded
    // again. Redis lost the sale: the next purchase loads it from the
    // database, its buyers included.
    let mut conn = shop_storage_redis::redis::Client::open(common::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    shop_storage_redis::redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    let prefix = redis.prefix().to_owned();
    let keys: Vec<String> = shop_storage_redis::redis::cmd("KEYS")
        .arg(format!("{prefix}{{fs:{}}}:*", sale.id.0))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    shop_storage_redis::redis::cmd("DEL")
        .arg(&keys)
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    assert_eq!(redis.remaining(sale.id).await.unwrap(), None);
    let again = w.shop.seckill_order(buyer, sku.id, address.id).await;
    assert!(again.is_err(), "the buyer holds a unit: {again:?}");
    assert_eq!(redis.remaining(sale.id).await.unwrap(), Some(4));
    let other = w.user();
    let theirs = w.address(other).await;
    w.shop
        .seckill_order(other, sku.id, theirs.id)
        .await
        .unwrap();
    assert_eq!(redis.remaining(sale.id).await.unwrap(), Some(3));
    assert_eq!(sql.flash_sale_ledger(sale.id).await.unwrap().stock, 3);
}
