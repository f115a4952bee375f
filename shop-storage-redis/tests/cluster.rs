//! Every Redis adapter on a real 6-node Redis Cluster that the test starts
//! itself (`common::cluster_url`): the cart, session, history, delay-queue,
//! read-cache and submit-token parts of the conformance suite, the flash
//! sale's crowd, close race and reconciliation in front of SQLite, the
//! shared rate limiter, and `clear` across every primary. Each script keeps
//! its keys in one hash slot; a cluster refuses anything else.

mod common;

use std::sync::Arc;

use chrono::{Duration, Utc};
use shop_core::account::{Session, SessionStore};
use shop_core::cart::CartStore;
use shop_core::conformance::{
    flash_sale_close_races_payment_with, flash_sale_crowd, flash_sale_reconciliation_with,
    submit_token_claims_with, submit_tokens_apart_place_once_with,
};
use shop_core::ids::{FlashSaleId, SkuId, UserId};
use shop_storage_redis::redis;

shop_core::cart_conformance_tests!(skippable common::cluster_store());
shop_core::session_conformance_tests!(skippable common::cluster_store());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_newest_first_and_capped() {
    let Some(store) = common::cluster_store().await else {
        return;
    };
    shop_core::conformance::history_newest_first_and_capped(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delay_queue_leases_and_redelivers() {
    let Some(store) = common::cluster_store().await else {
        return;
    };
    shop_core::conformance::delay_queue_leases_and_redelivers(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_cache_versioned_puts() {
    let Some(store) = common::cluster_store().await else {
        return;
    };
    shop_core::conformance::read_cache_versioned_puts(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn submit_token_claims_and_fifty_copies_of_a_submission() {
    let Some(store) = common::cluster_store().await else {
        return;
    };
    let store = Arc::new(store);
    submit_token_claims_with(store.clone()).await;
    submit_tokens_apart_place_once_with(common::sqlite().await, store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_flash_sale_attempts_sell_exactly_the_units() {
    let Some(store) = common::cluster_store().await else {
        return;
    };
    flash_sale_crowd(
        common::sqlite().await,
        Some(Arc::new(store)),
        10_000,
        2_000,
        100,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_close_racing_a_payment_returns_the_unit_once() {
    let Some(store) = common::cluster_store().await else {
        return;
    };
    flash_sale_close_races_payment_with(common::sqlite().await, Some(Arc::new(store))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_repairs_a_crash_a_lost_sale_and_lost_scripts() {
    let Some(store) = common::cluster_store().await else {
        return;
    };
    let store = Arc::new(store);
    let lose = |sale: FlashSaleId| {
        let prefix = store.prefix().to_owned();
        async move {
            let mut conn = common::cluster_connection().await;
            // Sent to every node.
            redis::cmd("SCRIPT")
                .arg("FLUSH")
                .query_async::<()>(&mut conn)
                .await
                .unwrap();
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}{{fs:{}}}:*", sale.0))
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(keys.len(), 2, "{keys:?}");
            redis::cmd("DEL")
                .arg(&keys)
                .query_async::<()>(&mut conn)
                .await
                .unwrap();
        }
    };
    flash_sale_reconciliation_with(common::sqlite().await, store.clone(), lose).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_rate_limiter_allows_exactly_the_burst() {
    let Some(store) = common::cluster_store().await else {
        return;
    };
    common::ten_of_thirty_pass(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_deletes_the_prefix_on_every_primary() {
    let Some(store) = common::cluster_store().await else {
        return;
    };
    let now = Utc::now();
    // Users whose carts land on different slots (and so primaries).
    for user in 1..=20 {
        store
            .add_to_cart(UserId(user), SkuId(2), 1, now)
            .await
            .unwrap();
    }
    store
        .create_session(&Session {
            token_hash: "c".into(),
            user_id: UserId(1),
            created_at: now,
            expires_at: now + Duration::hours(1),
        })
        .await
        .unwrap();
    let mut conn = common::cluster_connection().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", store.prefix()))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 23, "{keys:?}");
    assert_eq!(store.clear().await.unwrap(), 23);
    assert_eq!(store.list_cart(UserId(7)).await.unwrap(), vec![]);
    assert_eq!(store.clear().await.unwrap(), 0);
}
