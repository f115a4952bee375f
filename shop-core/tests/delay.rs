//! The delay queue: the contract on the in-memory queue, and unpaid orders
//! closed at their deadline through it (a job whose worker died runs after
//! its lease).

#![cfg(feature = "testing")]

use std::sync::Arc;

use chrono::Duration;
use shop_core::conformance::delay_queue_leases_and_redelivers;
use shop_core::conformance::shop::ShopWorld;
use shop_core::delay::DelayQueue;
use shop_core::memory::{MemoryDelayQueue, MemoryStore};
use shop_core::order::OrderStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_queue_keeps_the_contract() {
    delay_queue_leases_and_redelivers(Arc::new(MemoryDelayQueue::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaid_orders_close_at_their_deadline_through_the_queue() {
    let queue = Arc::new(MemoryDelayQueue::new());
    let w = ShopWorld::with_delay_queue(Arc::new(MemoryStore::new()), queue.clone());
    let sku = w.sku("Cup", "10.00", 5).await;
    let (ann, bob) = (w.user(), w.user());
    let address = w.address(ann).await;
    let request = w.request(ann, &address, &sku, 1).await;
    let unpaid = w.shop.place_order(ann, request).await.unwrap();
    let paid = w.paid_order(bob, &sku, 1).await;
    w.shop.dispatch_events().await.unwrap();
    assert_eq!(
        queue.queued().await.unwrap(),
        2,
        "one close per placed order"
    );

    // Before the deadline nothing is due.
    assert_eq!(w.shop.run_delayed_jobs().await.unwrap(), 0);
    // A worker claims the jobs at the deadline and dies.
    w.clock.set(unpaid.expires_at);
    let claimed = queue
        .claim_due(w.shop.now(), Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(w.shop.run_delayed_jobs().await.unwrap(), 0, "leased");
    let still = w.shop.any_order(unpaid.id).await.unwrap();
    assert_eq!(still.state.status, OrderStatus::Pending);
    // After the lease another worker runs them: the unpaid order closes,
    // the paid one is left alone.
    w.clock.advance(Duration::minutes(1));
    assert_eq!(w.shop.run_delayed_jobs().await.unwrap(), 2);
    let closed = w.shop.any_order(unpaid.id).await.unwrap();
    assert_eq!(closed.state.status, OrderStatus::Closed);
    let kept = w.shop.any_order(paid.id).await.unwrap();
    assert_eq!(kept.state.status, OrderStatus::Paid);
    assert_eq!(queue.queued().await.unwrap(), 0);
    assert_eq!(w.shop.close_expired_orders().await.unwrap(), 0);
}
