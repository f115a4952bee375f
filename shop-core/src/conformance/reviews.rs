//! Reviews and the product counters computed from them.

use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;

use super::fixtures::Fixture;
use super::{is_conflict, is_not_found, is_refused, is_validation, Backend};
use crate::catalog::Product;
use crate::error::{Entity, Error};
use crate::ids::{OrderId, OrderItemId, ProductId};
use crate::order::{
    LineReview, Order, OrderAction, OrderState, OrderStatus, RefundStatus, ReviewOrder,
};

const RECEIVE: [OrderAction; 3] = [
    OrderAction::Pay,
    OrderAction::Ship,
    OrderAction::ConfirmReceipt,
];

fn review(rating: u8, at: chrono::DateTime<chrono::Utc>) -> LineReview {
    LineReview {
        rating,
        text: format!("{rating} stars"),
        reviewed_at: at,
    }
}

/// A review command rating each line of `order` in turn, one minute apart
/// from `at`.
fn review_all(order: &Order, ratings: &[u8], at: chrono::DateTime<chrono::Utc>) -> ReviewOrder {
    ReviewOrder {
        order_id: order.id,
        expected: order.state,
        reviews: order
            .items
            .iter()
            .zip(ratings)
            .enumerate()
            .map(|(i, (item, rating))| (item.id, review(*rating, at + Duration::minutes(i as i64))))
            .collect(),
    }
}

async fn stats<B: Backend>(store: &Arc<B>, id: ProductId) -> (Decimal, u64, u64) {
    let p: Product = store.get_product(id).await.unwrap().unwrap();
    (p.rating, p.review_count, p.sold_count)
}

/// `review_order` writes one review per line and moves received → reviewed
/// (keeping the refund sub-state); `refresh_product_stats` then gives the
/// mean rating half-up to 2 decimals, the reviewed line count and the units
/// sold over paid orders, idempotently; `list_product_reviews` lists newest
/// first.
pub async fn review_order_and_refresh_product_stats<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let (product, skus) = fx.build_product("Reviewed", None, &[("10.00", 100), ("20.00", 100)]);
    store.create_product(&product, &skus, &[]).await.unwrap();
    let (a, b) = (&skus[0], &skus[1]);
    let other = fx.sku(100).await;
    let p = product.id;
    let q = other.product_id;

    let mut received = Vec::new();
    for i in 0..4 {
        let lines: Vec<_> = if i == 0 {
            vec![(a, 1), (b, 1), (&other, 2)]
        } else {
            vec![(a, 1), (b, 1)]
        };
        let order = fx.placed(fx.user(), &lines, None).await;
        received.push(fx.advance(order.id, &RECEIVE).await);
    }
    let paid = fx.placed(fx.user(), &[(a, 3)], None).await;
    fx.advance(paid.id, &[OrderAction::Pay]).await;
    fx.placed(fx.user(), &[(a, 5)], None).await; // pending: not sold
    let closed = fx.placed(fx.user(), &[(a, 4)], None).await;
    store.close_order(closed.id, fx.now, &[]).await.unwrap();

    store.refresh_product_stats(p).await.unwrap();
    assert_eq!(stats(&store, p).await, (Decimal::ZERO, 0, 11));

    let t = |minutes: i64| fx.now + Duration::hours(1) + Duration::minutes(minutes);
    let first = review_all(&received[0], &[5, 4, 3], t(0));
    store.review_order(&first, &[]).await.unwrap();
    let stored = fx.order(received[0].id).await;
    let mut expected = received[0].clone();
    expected.state = OrderState {
        status: OrderStatus::Reviewed,
        refund: RefundStatus::None,
    };
    for (item, (_, r)) in expected.items.iter_mut().zip(&first.reviews) {
        item.review = Some(r.clone());
    }
    assert_eq!(stored, expected);

    for _ in 0..2 {
        store.refresh_product_stats(p).await.unwrap();
        assert_eq!(stats(&store, p).await, (Decimal::new(450, 2), 2, 11));
    }
    store.refresh_product_stats(q).await.unwrap();
    assert_eq!(stats(&store, q).await, (Decimal::new(300, 2), 1, 2));

    for (i, ratings) in [[5u8, 5], [5, 4], [5, 4]].iter().enumerate() {
        let order = &received[i + 1];
        store
            .review_order(&review_all(order, ratings, t(10 * (i as i64 + 1))), &[])
            .await
            .unwrap();
        assert_eq!(fx.order(order.id).await.state.status, OrderStatus::Reviewed);
    }
    // 5+4 + 5+5 + 5+4 + 5+4 = 37 over 8 lines = 4.625, half-up 4.63.
    store.refresh_product_stats(p).await.unwrap();
    assert_eq!(stats(&store, p).await, (Decimal::new(463, 2), 8, 11));

    let newest = store.list_product_reviews(p, 3).await.unwrap();
    let last = &received[3];
    let third = &received[2];
    let seen: Vec<_> = newest
        .iter()
        .map(|r| (r.user_id, r.sku_id, r.review.rating, r.review.reviewed_at))
        .collect();
    assert_eq!(
        seen,
        [
            (last.user_id, b.id, 4, t(31)),
            (last.user_id, a.id, 5, t(30)),
            (third.user_id, b.id, 4, t(21)),
        ]
    );
    assert_eq!(store.list_product_reviews(p, 100).await.unwrap().len(), 8);
    assert_eq!(store.list_product_reviews(q, 100).await.unwrap().len(), 1);
    assert_eq!(
        store
            .list_product_reviews(ProductId(999_999), 10)
            .await
            .unwrap(),
        []
    );

    let err = store.review_order(&first, &[]).await.unwrap_err();
    assert!(is_conflict(&err, Entity::Order), "{err:?}");
    assert_eq!(fx.order(received[0].id).await, expected);
}

/// Invalid reviews (a line missing, unknown or repeated: `reviews`; a rating
/// outside 1..=5: `rating`) and reviews of orders not received with a free
/// refund sub-state (`Conflict`) change nothing.
pub async fn review_order_validation_changes_nothing<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 10), ("20.00", 10)]).await;
    let (a, b) = (&skus[0], &skus[1]);
    let order = fx.placed(fx.user(), &[(a, 1), (b, 1)], None).await;
    let order = fx.advance(order.id, &RECEIVE).await;
    let (ia, ib) = (order.items[0].id, order.items[1].id);
    let at = fx.now + Duration::hours(2);
    let received = order.state;
    let cmd_from = |expected: OrderState, reviews: Vec<(OrderItemId, u8)>| ReviewOrder {
        order_id: order.id,
        expected,
        reviews: reviews
            .into_iter()
            .map(|(i, r)| (i, review(r, at)))
            .collect(),
    };
    let cmd = |reviews| cmd_from(received, reviews);

    // (command, field, refused because of the order rather than invalid)
    let invalid = [
        (cmd(vec![(ia, 5)]), "reviews", true),
        (
            cmd(vec![(ia, 5), (ib, 4), (OrderItemId(999_999), 3)]),
            "reviews",
            true,
        ),
        (cmd(vec![(ia, 5), (ia, 4), (ib, 4)]), "reviews", false),
        (cmd(vec![(ia, 0), (ib, 4)]), "rating", false),
        (cmd(vec![(ia, 5), (ib, 6)]), "rating", false),
    ];
    for (bad, field, by_order) in &invalid {
        let err = store.review_order(bad, &[]).await.unwrap_err();
        let expected = if *by_order {
            is_refused(&err, field)
        } else {
            is_validation(&err, field)
        };
        assert!(expected, "{field}: {err:?}");
        assert_eq!(fx.order(order.id).await, order);
    }
    let mut ghost = cmd(vec![(ia, 5), (ib, 4)]);
    ghost.order_id = OrderId(999_999);
    let err = store.review_order(&ghost, &[]).await.unwrap_err();
    assert!(is_not_found(&err, Entity::Order), "{err:?}");

    // Not received yet.
    let paid = fx.placed(fx.user(), &[(a, 1)], None).await;
    let paid = fx.advance(paid.id, &[OrderAction::Pay]).await;
    let early = ReviewOrder {
        order_id: paid.id,
        expected: received,
        reviews: vec![(paid.items[0].id, review(5, at))],
    };
    let err = store.review_order(&early, &[]).await.unwrap_err();
    assert!(is_conflict(&err, Entity::Order), "{err:?}");
    assert_eq!(fx.order(paid.id).await, paid);
    // A review does not apply to the state the caller expects.
    let wrong = ReviewOrder {
        expected: paid.state,
        ..early
    };
    let err = store.review_order(&wrong, &[]).await.unwrap_err();
    assert!(matches!(err, Error::InvalidTransition { .. }), "{err:?}");
    assert_eq!(fx.order(paid.id).await, paid);

    // Received, but a refund is under way.
    let applied = fx.advance(order.id, &[OrderAction::ApplyRefund]).await;
    let err = store
        .review_order(&cmd(vec![(ia, 5), (ib, 4)]), &[])
        .await
        .unwrap_err();
    assert!(is_conflict(&err, Entity::Order), "{err:?}");
    assert_eq!(fx.order(order.id).await, applied);

    // Received after a failed refund: reviewable, and the sub-state stays.
    let failed = fx
        .advance(
            order.id,
            &[OrderAction::ApproveRefund, OrderAction::FailRefund],
        )
        .await;
    store
        .review_order(&cmd_from(failed.state, vec![(ib, 2), (ia, 3)]), &[])
        .await
        .unwrap();
    let reviewed = fx.order(order.id).await;
    assert_eq!(
        reviewed.state,
        OrderState {
            status: OrderStatus::Reviewed,
            refund: RefundStatus::Failed,
        }
    );
    let ratings: Vec<_> = reviewed
        .items
        .iter()
        .map(|i| i.review.as_ref().map(|r| r.rating))
        .collect();
    assert_eq!(ratings, [Some(3), Some(2)]);
    store.refresh_product_stats(a.product_id).await.unwrap();
    assert_eq!(
        stats(&store, a.product_id).await,
        (Decimal::new(250, 2), 2, 3)
    );
}
