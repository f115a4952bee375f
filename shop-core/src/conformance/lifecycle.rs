//! The order lifecycle: closing, expiry listing, compare-and-set
//! transitions and order listings.

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::{minutes_after, Fixture};
use super::{concurrently, is_conflict, is_not_found, Backend};
use crate::error::Entity;
use crate::ids::{OrderId, UserId};
use crate::order::{Order, OrderAction, OrderPatch, OrderQuery, OrderState, OrderStatus};

/// Closing a pending order gives back each line's stock and the coupon's
/// use exactly once: of two concurrent closes one wins and one gets
/// `Conflict`; later closes, and closes of paid orders, are `Conflict`.
pub async fn close_order_restores_stock_and_coupon_once<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 10), ("20.00", 10)]).await;
    let (a, b) = (&skus[0], &skus[1]);
    let coupon = fx.coupon(10).await;
    let buyer = fx.user();
    let order = fx.placed(buyer, &[(a, 2), (b, 3)], Some(&coupon)).await;
    assert_eq!((fx.stock(a.id).await, fx.stock(b.id).await), (8, 7));
    assert_eq!(fx.used(coupon.id).await, 1);

    let at = order.expires_at + Duration::seconds(1);
    let results = concurrently(
        (0..2)
            .map(|_| {
                let store = Arc::clone(&store);
                async move { store.close_order(order.id, at, &[]).await }
            })
            .collect(),
    )
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert!(is_conflict(loser, Entity::Order), "{loser:?}");

    let closed = fx.order(order.id).await;
    let mut expected = order.clone();
    expected.state = OrderState::PENDING.apply(OrderAction::Close).unwrap();
    expected.closed_at = Some(at);
    assert_eq!(closed, expected);
    assert_eq!(closed.state.status, OrderStatus::Closed);
    assert_eq!((fx.stock(a.id).await, fx.stock(b.id).await), (10, 10));
    assert_eq!(fx.used(coupon.id).await, 0);
    assert!(!store.coupon_held_by(coupon.id, buyer).await.unwrap());

    let err = store.close_order(order.id, at, &[]).await.unwrap_err();
    assert!(is_conflict(&err, Entity::Order), "{err:?}");
    assert_eq!((fx.stock(a.id).await, fx.stock(b.id).await), (10, 10));
    assert_eq!(fx.used(coupon.id).await, 0);

    let paid = fx.placed(buyer, &[(a, 1)], Some(&coupon)).await;
    let paid = fx.advance(paid.id, &[OrderAction::Pay]).await;
    let err = store.close_order(paid.id, at, &[]).await.unwrap_err();
    assert!(is_conflict(&err, Entity::Order), "{err:?}");
    assert_eq!(fx.order(paid.id).await, paid);
    assert_eq!(fx.stock(a.id).await, 9);
    assert_eq!(fx.used(coupon.id).await, 1);

    let err = store
        .close_order(OrderId(999_999), at, &[])
        .await
        .unwrap_err();
    assert!(is_not_found(&err, Entity::Order), "{err:?}");
}

/// `list_expired_orders`: only pending orders with `expires_at <= now`, by
/// id ascending, after the given id, at most `limit` — so a job can walk
/// them in chunks.
pub async fn list_expired_orders_in_chunks<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(100).await;
    let now = fx.now;
    let place_at = |minutes_ago: i64| {
        let order = fx.build_order_at(
            fx.user(),
            &[(&sku, 1)],
            None,
            minutes_after(now, -minutes_ago),
        );
        let fx = &fx;
        async move { fx.place(&order).await.unwrap() }
    };
    // Interleave expired pending orders with ones that must not be listed.
    let paid = place_at(60).await;
    let e1 = place_at(60).await;
    let fresh = place_at(29).await;
    let e2 = place_at(45).await;
    let closed = place_at(60).await;
    let e3 = place_at(40).await;
    let e4 = place_at(35).await;
    let e5 = place_at(30).await; // expires exactly now
    fx.advance(paid.id, &[OrderAction::Pay]).await;
    store.close_order(closed.id, now, &[]).await.unwrap();
    assert!(fresh.expires_at > now);
    assert_eq!(e5.expires_at, now);

    let expired = [e1.id, e2.id, e3.id, e4.id, e5.id];
    assert_eq!(
        store.list_expired_orders(now, None, 100).await.unwrap(),
        expired
    );
    assert_eq!(
        store.list_expired_orders(now, None, 2).await.unwrap(),
        [e1.id, e2.id]
    );
    assert_eq!(
        store
            .list_expired_orders(now, Some(e2.id), 2)
            .await
            .unwrap(),
        [e3.id, e4.id]
    );
    assert_eq!(
        store
            .list_expired_orders(now, Some(e4.id), 2)
            .await
            .unwrap(),
        [e5.id]
    );
    assert_eq!(
        store
            .list_expired_orders(now, Some(e5.id), 2)
            .await
            .unwrap(),
        []
    );
    assert_eq!(
        store
            .list_expired_orders(now, Some(paid.id), 1)
            .await
            .unwrap(),
        [e1.id]
    );
    assert_eq!(
        store
            .list_expired_orders(now, Some(fresh.id), 100)
            .await
            .unwrap(),
        [e2.id, e3.id, e4.id, e5.id]
    );
    let earlier = minutes_after(now, -12);
    assert_eq!(
        store.list_expired_orders(earlier, None, 100).await.unwrap(),
        [e1.id, e2.id]
    );
    assert_eq!(store.list_expired_orders(now, None, 0).await.unwrap(), []);

    // Closing what was listed empties the list.
    for id in expired {
        store.close_order(id, now, &[]).await.unwrap();
    }
    assert_eq!(store.list_expired_orders(now, None, 100).await.unwrap(), []);
    // Eight placed; the closed one and the five expired gave theirs back.
    assert_eq!(fx.stock(sku.id).await, 98);
}

/// `transition` is a compare-and-set on the whole state: a wrong expected
/// state is `Conflict` and changes nothing; a right one moves the state and
/// writes the patch's set fields, keeping the others.
pub async fn transition_is_compare_and_set<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(10).await;
    let order = fx.placed(fx.user(), &[(&sku, 1)], None).await;
    let state = |status, refund| OrderState { status, refund };
    use crate::order::RefundStatus as R;
    use OrderStatus as S;

    let pay = fx.patch_for(OrderAction::Pay, "cas");
    for wrong in [state(S::Paid, R::None), state(S::Pending, R::Applied)] {
        let err = store
            .transition(order.id, wrong, state(S::Shipped, R::None), &pay, &[])
            .await
            .unwrap_err();
        assert!(is_conflict(&err, Entity::Order), "{err:?}");
        assert_eq!(fx.order(order.id).await, order);
    }
    let err = store
        .transition(
            OrderId(999_999),
            OrderState::PENDING,
            state(S::Paid, R::None),
            &pay,
            &[],
        )
        .await
        .unwrap_err();
    assert!(is_not_found(&err, Entity::Order), "{err:?}");

    let mut expected = order.clone();
    store
        .transition(
            order.id,
            OrderState::PENDING,
            state(S::Paid, R::None),
            &pay,
            &[],
        )
        .await
        .unwrap();
    expected.state = state(S::Paid, R::None);
    expected.payment = pay.payment.clone();
    assert_eq!(fx.order(order.id).await, expected);

    let err = store
        .transition(
            order.id,
            OrderState::PENDING,
            state(S::Paid, R::None),
            &pay,
            &[],
        )
        .await
        .unwrap_err();
    assert!(is_conflict(&err, Entity::Order), "{err:?}");

    let ship = fx.patch_for(OrderAction::Ship, "cas");
    store
        .transition(
            order.id,
            state(S::Paid, R::None),
            state(S::Shipped, R::None),
            &ship,
            &[],
        )
        .await
        .unwrap();
    expected.state = state(S::Shipped, R::None);
    expected.shipment = ship.shipment.clone();
    assert_eq!(fx.order(order.id).await, expected, "payment is kept");

    let apply = fx.patch_for(OrderAction::ApplyRefund, "cas");
    store
        .transition(
            order.id,
            expected.state,
            state(S::Shipped, R::Applied),
            &apply,
            &[],
        )
        .await
        .unwrap();
    expected.state = state(S::Shipped, R::Applied);
    expected.refund_reason = apply.refund_reason.clone();
    assert_eq!(fx.order(order.id).await, expected);

    let refuse = fx.patch_for(OrderAction::RefuseRefund, "cas");
    store
        .transition(
            order.id,
            expected.state,
            state(S::Shipped, R::None),
            &refuse,
            &[],
        )
        .await
        .unwrap();
    expected.state = state(S::Shipped, R::None);
    expected.refund_refusal = refuse.refund_refusal.clone();
    assert_eq!(
        fx.order(order.id).await,
        expected,
        "the buyer's reason is kept"
    );

    store
        .transition(
            order.id,
            expected.state,
            state(S::Received, R::None),
            &OrderPatch::default(),
            &[],
        )
        .await
        .unwrap();
    expected.state = state(S::Received, R::None);
    assert_eq!(fx.order(order.id).await, expected);
}

/// `list_orders`: filters by buyer and status, newest first (ties by id
/// descending), pages with the total over all pages, lines included.
pub async fn list_orders_filters_and_pages<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 100), ("20.00", 100)]).await;
    let (a, b) = (&skus[0], &skus[1]);
    let (u1, u2) = (fx.user(), fx.user());
    let place = |user: UserId, minutes_ago: i64| {
        let order = fx.build_order_at(
            user,
            &[(a, 1), (b, 2)],
            None,
            minutes_after(fx.now, -minutes_ago),
        );
        let fx = &fx;
        async move { fx.place(&order).await.unwrap() }
    };
    let o1 = place(u1, 180).await;
    let o2 = place(u1, 120).await;
    let o3 = place(u1, 60).await;
    let o4 = place(u2, 150).await;
    let o5 = place(u2, 0).await;
    let o6 = place(u2, 0).await; // same time as o5, higher id
    fx.advance(o1.id, &[OrderAction::Pay]).await;
    fx.advance(o5.id, &[OrderAction::Pay]).await;
    store.close_order(o3.id, fx.now, &[]).await.unwrap();

    let list = |user: Option<UserId>, status: Option<OrderStatus>, page: u32, per_page: u32| {
        let store = Arc::clone(&store);
        async move {
            let query = OrderQuery {
                user_id: user,
                status,
                page,
                per_page,
            };
            let page = store.list_orders(&query).await.unwrap();
            (
                page.items.iter().map(|o| o.id).collect::<Vec<_>>(),
                page.total,
            )
        }
    };
    let ids = |orders: &[&Order]| orders.iter().map(|o| o.id).collect::<Vec<_>>();

    assert_eq!(
        list(None, None, 1, 10).await,
        (ids(&[&o6, &o5, &o3, &o2, &o4, &o1]), 6)
    );
    assert_eq!(
        list(Some(u1), None, 1, 10).await,
        (ids(&[&o3, &o2, &o1]), 3)
    );
    assert_eq!(
        list(Some(u2), None, 1, 10).await,
        (ids(&[&o6, &o5, &o4]), 3)
    );
    assert_eq!(
        list(None, Some(OrderStatus::Paid), 1, 10).await,
        (ids(&[&o5, &o1]), 2)
    );
    assert_eq!(
        list(Some(u1), Some(OrderStatus::Pending), 1, 10).await,
        (ids(&[&o2]), 1)
    );
    assert_eq!(
        list(None, Some(OrderStatus::Closed), 1, 10).await,
        (ids(&[&o3]), 1)
    );
    assert_eq!(
        list(None, Some(OrderStatus::Shipped), 1, 10).await,
        (vec![], 0)
    );
    assert_eq!(list(Some(fx.user()), None, 1, 10).await, (vec![], 0));

    assert_eq!(
        list(None, None, 1, 4).await,
        (ids(&[&o6, &o5, &o3, &o2]), 6)
    );
    assert_eq!(list(None, None, 2, 4).await, (ids(&[&o4, &o1]), 6));
    assert_eq!(list(None, None, 3, 4).await, (vec![], 6));
    assert_eq!(list(Some(u1), None, 2, 2).await, (ids(&[&o1]), 3));

    // Listed orders are complete, lines and all.
    let page = store
        .list_orders(&OrderQuery {
            user_id: Some(u1),
            status: Some(OrderStatus::Paid),
            page: 1,
            per_page: 10,
        })
        .await
        .unwrap();
    assert_eq!(page.items, vec![fx.order(o1.id).await]);
    assert_eq!(page.items[0].items.len(), 2);
}
