//! Unpaid orders closed at their deadline through the Redis delay queue by
//! two nodes at once, on one SQLite database: every job runs once, every
//! order closes once, the stock comes back exactly. And product pages
//! cached in Redis, fresh after an edit's event.

mod common;

use std::sync::Arc;

use chrono::Duration;
use shop_core::conformance::read_cache_serves_edits_after_dispatch;
use shop_core::conformance::shop::ShopWorld;
use shop_core::delay::DelayQueue;
use shop_core::order::OrderStatus;
use shop_core::{Shop, Stores};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_close_every_unpaid_order_once_at_its_deadline() {
    let Some(redis) = common::redis_store().await else {
        return;
    };
    let redis = Arc::new(redis);
    let sql = common::sqlite().await;

    let w = ShopWorld::with_delay_queue(sql.clone(), redis.clone());
    let other_node = Shop::builder(Stores::from_backend(sql.clone()))
        .clock(w.clock.clone())
        .delay_queue(redis.clone())
        .build();
    let sku = w.sku("Cup", "10.00", 30).await;
    let mut orders = Vec::new();
    for _ in 0..30 {
        let buyer = w.user();
        let address = w.address(buyer).await;
        let request = w.request(buyer, &address, &sku, 1).await;
        orders.push(w.shop.place_order(buyer, request).await.unwrap());
    }
    w.shop.dispatch_events().await.unwrap();
    assert_eq!(redis.queued().await.unwrap(), 30);
    assert_eq!(w.shop.run_delayed_jobs().await.unwrap(), 0);

    w.clock.advance(Duration::minutes(30));
    let (a, b) = tokio::join!(w.shop.run_delayed_jobs(), other_node.run_delayed_jobs());
    assert_eq!(a.unwrap() + b.unwrap(), 30, "each job ran once");
    for order in &orders {
        let stored = w.shop.any_order(order.id).await.unwrap();
        assert_eq!(stored.state.status, OrderStatus::Closed);
    }
    let stock = w.shop.product_detail(sku.product_id).await.unwrap().skus[0].stock;
    assert_eq!(stock, 30, "every unit back, once");
    assert_eq!(redis.queued().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_cached_in_redis_is_never_stale_after_the_edits_event() {
    let Some(redis) = common::redis_store().await else {
        return;
    };
    read_cache_serves_edits_after_dispatch(common::sqlite().await, Arc::new(redis)).await;
}
