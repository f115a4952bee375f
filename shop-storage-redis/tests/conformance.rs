//! The cart, session, history, delay-queue and read-cache parts of the shop-core conformance suite, on a real
//! Redis server (`SHOP_TEST_REDIS_URL`), each test under its own key prefix.

mod common;

shop_core::cart_conformance_tests!(skippable common::redis_store());
shop_core::session_conformance_tests!(skippable common::redis_store());

/// The history case of the suite (the one case for `HistoryStore`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_newest_first_and_capped() {
    let Some(redis) = common::redis_store().await else {
        return;
    };
    shop_core::conformance::history_newest_first_and_capped(std::sync::Arc::new(redis)).await;
}

/// The delay queue's contract.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delay_queue_leases_and_redelivers() {
    let Some(redis) = common::redis_store().await else {
        return;
    };
    shop_core::conformance::delay_queue_leases_and_redelivers(std::sync::Arc::new(redis)).await;
}

/// The read cache's contract.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_cache_versioned_puts() {
    let Some(redis) = common::redis_store().await else {
        return;
    };
    shop_core::conformance::read_cache_versioned_puts(std::sync::Arc::new(redis)).await;
}
