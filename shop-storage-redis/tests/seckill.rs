//! Flash sales with Redis in front of SQLite: the conformance suite's crowd
//! and close race through the Redis stock, reconciliation after a process
//! died between the take and the order, a Redis that lost the sale or its
//! scripts.

mod common;

use std::sync::Arc;

use shop_core::conformance::{
    flash_sale_close_races_payment_with, flash_sale_crowd, flash_sale_reconciliation_with,
};
use shop_core::ids::FlashSaleId;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_attempts_through_redis_sell_exactly_the_units() {
    let Some(redis) = common::redis_store().await else {
        return;
    };
    flash_sale_crowd(
        common::sqlite().await,
        Some(Arc::new(redis)),
        10_000,
        2_000,
        100,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_close_racing_a_payment_returns_the_unit_to_redis_once() {
    let Some(redis) = common::redis_store().await else {
        return;
    };
    flash_sale_close_races_payment_with(common::sqlite().await, Some(Arc::new(redis))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_repairs_a_crash_a_lost_sale_and_lost_scripts() {
    let Some(redis) = common::redis_store().await else {
        return;
    };
    let redis = Arc::new(redis);
    // Redis lost its scripts (a restart, SCRIPT FLUSH) and the sale's keys.
    let lose = |sale: FlashSaleId| {
        let prefix = redis.prefix().to_owned();
        async move {
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
            let keys: Vec<String> = shop_storage_redis::redis::cmd("KEYS")
                .arg(format!("{prefix}{{fs:{}}}:*", sale.0))
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(keys.len(), 2, "{keys:?}");
            shop_storage_redis::redis::cmd("DEL")
                .arg(&keys)
                .query_async::<()>(&mut conn)
                .await
                .unwrap();
        }
    };
    flash_sale_reconciliation_with(common::sqlite().await, redis.clone(), lose).await;
}
