//! Races: many actors hit the same stock, coupon, token or order at once;
//! the atomic writes must let exactly the right number through.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;

use super::fixtures::Fixture;
use super::{concurrently, is_conflict, is_not_found, Backend};
use crate::coupon::CouponRejection;
use crate::error::{Entity, Error, Result};
use crate::order::{
    Order, OrderAction, OrderQuery, OrderState, OrderStatus, PlaceOrder, SubmitTokenUse,
};

/// Places every order concurrently (no token, cart left alone).
async fn place_all<B: Backend>(store: &Arc<B>, orders: &[Order]) -> Vec<Result<Order>> {
    concurrently(
        orders
            .iter()
            .map(|order| {
                let store = Arc::clone(store);
                let cmd = PlaceOrder {
                    order: order.clone(),
                    submit_token: None,
                    clear_cart: false,
                    flash_sale: None,
                    crowdfunding: None,
                };
                async move { store.place_order(&cmd, &[]).await }
            })
            .collect(),
    )
    .await
}

/// 200 buyers race for a SKU with 50 in stock: exactly 50 orders are
/// placed, 150 are `OutOfStock`, the stock ends at 0 and 50 orders exist.
pub async fn concurrent_buyers_never_oversell<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(50).await;
    let orders: Vec<Order> = (0..200)
        .map(|_| fx.build_order(fx.user(), &[(&sku, 1)], None))
        .collect();
    let results = place_all(&store, &orders).await;

    let mut winners = BTreeSet::new();
    let mut sold_out = 0;
    for (order, result) in orders.iter().zip(results) {
        match result {
            Ok(placed) => {
                assert_eq!(&placed, order);
                winners.insert(order.id);
            }
            Err(Error::OutOfStock {
                sku: s,
                requested: 1,
                available: 0,
            }) if s == sku.id => sold_out += 1,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(winners.len(), 50);
    assert_eq!(sold_out, 150);
    assert_eq!(fx.stock(sku.id).await, 0);
    let page = store
        .list_orders(&OrderQuery {
            page: 1,
            per_page: 100,
            ..OrderQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 50);
    let listed: BTreeSet<_> = page.items.iter().map(|o| o.id).collect();
    assert_eq!(listed, winners);
}

/// A coupon with 10 copies, 50 buyers at once: exactly 10 orders get it
/// (the rest `Exhausted`), `used` ends at 10 and only 10 units are sold.
pub async fn coupon_total_limit_under_concurrency<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(1000).await;
    let coupon = fx.coupon(10).await;
    let orders: Vec<Order> = (0..50)
        .map(|_| fx.build_order(fx.user(), &[(&sku, 1)], Some(&coupon)))
        .collect();
    let results = place_all(&store, &orders).await;
    let placed = results.iter().filter(|r| r.is_ok()).count();
    let exhausted = results
        .iter()
        .filter(|r| matches!(r, Err(Error::CouponRejected(CouponRejection::Exhausted))))
        .count();
    assert_eq!((placed, exhausted), (10, 40), "{results:?}");
    assert_eq!(fx.used(coupon.id).await, 10);
    assert_eq!(fx.stock(sku.id).await, 990);
    assert_eq!(fx.order_count().await, 10);
}

/// One buyer sends 20 orders with the same coupon at once: exactly one gets
/// it, the others are `AlreadyUsed`, and `used` is 1.
pub async fn coupon_once_per_user_under_concurrency<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(1000).await;
    let coupon = fx.coupon(100).await;
    let buyer = fx.user();
    let orders: Vec<Order> = (0..20)
        .map(|_| fx.build_order(buyer, &[(&sku, 1)], Some(&coupon)))
        .collect();
    let results = place_all(&store, &orders).await;
    let placed = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(Error::CouponRejected(CouponRejection::AlreadyUsed))))
        .count();
    assert_eq!((placed, refused), (1, 19), "{results:?}");
    assert_eq!(fx.used(coupon.id).await, 1);
    assert_eq!(fx.stock(sku.id).await, 999);
    assert_eq!(fx.order_count().await, 1);
}

/// 20 submissions with one submit token at once: exactly one order.
pub async fn submit_token_replays_under_concurrency<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(100).await;
    let buyer = fx.user();
    store
        .issue_submit_token(buyer, "replayed", fx.now + Duration::minutes(10))
        .await
        .unwrap();
    let commands: Vec<PlaceOrder> = (0..20)
        .map(|_| PlaceOrder {
            order: fx.build_order(buyer, &[(&sku, 2)], None),
            submit_token: Some(SubmitTokenUse::new("replayed", "fingerprint")),
            clear_cart: true,
            flash_sale: None,
            crowdfunding: None,
        })
        .collect();
    let results = concurrently(
        commands
            .iter()
            .map(|cmd| {
                let store = Arc::clone(&store);
                let cmd = cmd.clone();
                async move { store.place_order(&cmd, &[]).await }
            })
            .collect(),
    )
    .await;
    let placed = results.iter().filter(|r| r.is_ok()).count();
    let replays = results
        .iter()
        .filter(|r| matches!(r, Err(e) if is_not_found(e, Entity::SubmitToken)))
        .count();
    assert_eq!((placed, replays), (1, 19), "{results:?}");
    assert_eq!(fx.stock(sku.id).await, 98);
    assert_eq!(fx.order_count().await, 1);
}

/// 20 identical pending → paid transitions at once (think: duplicate
/// payment notifications): exactly one wins, and its payment is stored.
pub async fn transition_pays_once_under_concurrency<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(10).await;
    let order = fx.placed(fx.user(), &[(&sku, 1)], None).await;
    let paid = OrderState::PENDING.apply(OrderAction::Pay).unwrap();
    let patches: Vec<_> = (0..20)
        .map(|i| fx.patch_for(OrderAction::Pay, &format!("notification-{i}")))
        .collect();
    let results = concurrently(
        patches
            .iter()
            .map(|patch| {
                let store = Arc::clone(&store);
                let patch = patch.clone();
                async move {
                    store
                        .transition(order.id, OrderState::PENDING, paid, &patch, &[])
                        .await
                }
            })
            .collect(),
    )
    .await;
    let winners: Vec<usize> = (0..20).filter(|i| results[*i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for result in &results {
        if let Err(e) = result {
            assert!(is_conflict(e, Entity::Order), "{e:?}");
        }
    }
    let stored = fx.order(order.id).await;
    assert_eq!(stored.state, paid);
    assert_eq!(stored.payment, patches[winners[0]].payment);
}

/// 50 pending orders (each with a coupon), each raced by a close and a
/// payment at once: exactly one of the two wins every time, the loser gets
/// `Conflict`, and stock and coupon uses are given back for closed orders
/// only.
pub async fn close_order_races_payment<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(50).await;
    let coupon = fx.coupon(100).await;
    let mut orders = Vec::new();
    for _ in 0..50 {
        orders.push(fx.placed(fx.user(), &[(&sku, 1)], Some(&coupon)).await);
    }
    assert_eq!(fx.stock(sku.id).await, 0);
    assert_eq!(fx.used(coupon.id).await, 50);

    let paid = OrderState::PENDING.apply(OrderAction::Pay).unwrap();
    let closing_time = fx.now + Duration::minutes(31);
    // Even indexes close, odd ones pay: 2 × 50 tasks released together.
    let tasks: Vec<_> = orders
        .iter()
        .flat_map(|o| [(o.id, true), (o.id, false)])
        .map(|(id, close)| {
            let store = Arc::clone(&store);
            let patch = fx.patch_for(OrderAction::Pay, &id.to_string());
            async move {
                if close {
                    store.close_order(id, closing_time, &[]).await
                } else {
                    store
                        .transition(id, OrderState::PENDING, paid, &patch, &[])
                        .await
                }
            }
        })
        .collect();
    let results = concurrently(tasks).await;

    let mut closed = 0;
    for (order, pair) in orders.iter().zip(results.chunks(2)) {
        let (close, pay) = (&pair[0], &pair[1]);
        let stored = fx.order(order.id).await;
        match (close, pay) {
            (Ok(()), Err(e)) if is_conflict(e, Entity::Order) => {
                closed += 1;
                assert_eq!(stored.state.status, OrderStatus::Closed);
                assert_eq!(stored.closed_at, Some(closing_time));
                assert_eq!(stored.payment, None);
            }
            (Err(e), Ok(())) if is_conflict(e, Entity::Order) => {
                assert_eq!(stored.state, paid);
                assert_eq!(stored.closed_at, None);
                assert!(stored.payment.is_some());
            }
            other => panic!("order {}: exactly one must win, got {other:?}", order.id),
        }
    }
    assert_eq!(fx.stock(sku.id).await, closed);
    assert_eq!(fx.used(coupon.id).await, 50 - closed);
}
