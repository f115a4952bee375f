//! Placing orders, one at a time: what a success writes and what each
//! refusal leaves untouched.

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::{cny, Fixture};
use super::{is_already_exists, is_not_found, Backend};
use crate::coupon::{Coupon, CouponRejection};
use crate::error::{Entity, Error};
use crate::ids::CouponId;
use crate::order::{OrderQuery, PlaceOrder, SubmitTokenUse, SubmittedOrder};

/// A placed order is stored exactly as placed (by id and by number), takes
/// the stock of every line, one use of the coupon and the submit token, and
/// removes the bought SKUs (only those) from the cart when asked.
pub async fn place_order_stores_order_and_takes_everything<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx
        .product(&[("10.00", 10), ("25.00", 5), ("3.00", 3)])
        .await;
    let (a, b, c) = (&skus[0], &skus[1], &skus[2]);
    let coupon = fx.coupon(10).await;
    let (buyer, other) = (fx.user(), fx.user());
    for (sku, quantity) in [(a, 2), (b, 1), (c, 1)] {
        store
            .add_to_cart(buyer, sku.id, quantity, fx.now)
            .await
            .unwrap();
    }
    store.add_to_cart(other, a.id, 1, fx.now).await.unwrap();
    store
        .issue_submit_token(buyer, "token-1", fx.now + Duration::minutes(10))
        .await
        .unwrap();

    let order = fx.build_order(buyer, &[(a, 2), (b, 1)], Some(&coupon));
    assert_eq!(
        (order.items_total, order.total),
        (cny("45.00"), cny("40.00"))
    );
    let placed = store
        .place_order(
            &PlaceOrder {
                order: order.clone(),
                submit_token: Some(SubmitTokenUse::new("token-1", "fingerprint")),
                clear_cart: true,
                flash_sale: None,
                crowdfunding: None,
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(placed, order);
    assert_eq!(
        store.get_order(order.id).await.unwrap(),
        Some(order.clone())
    );
    assert_eq!(
        store.get_order_by_no(&order.no).await.unwrap(),
        Some(order.clone())
    );
    assert_eq!(store.get_order_by_no("no such number").await.unwrap(), None);

    assert_eq!(fx.stock(a.id).await, 8);
    assert_eq!(fx.stock(b.id).await, 4);
    assert_eq!(fx.stock(c.id).await, 3);
    assert_eq!(fx.used(coupon.id).await, 1);
    assert!(store.coupon_held_by(coupon.id, buyer).await.unwrap());
    assert!(!store.coupon_held_by(coupon.id, other).await.unwrap());
    let cart = store.list_cart(buyer).await.unwrap();
    assert_eq!(cart.iter().map(|l| l.sku_id).collect::<Vec<_>>(), [c.id]);
    assert_eq!(store.list_cart(other).await.unwrap().len(), 1);
    let mine = store
        .list_orders(&OrderQuery {
            user_id: Some(buyer),
            page: 1,
            per_page: 10,
            ..OrderQuery::default()
        })
        .await
        .unwrap();
    assert_eq!((mine.items, mine.total), (vec![order.clone()], 1));

    // The token is spent: a replay places nothing.
    let again = fx.build_order(buyer, &[(a, 1)], None);
    let err = store
        .place_order(
            &PlaceOrder {
                order: again.clone(),
                submit_token: Some(SubmitTokenUse::new("token-1", "fingerprint")),
                clear_cart: true,
                flash_sale: None,
                crowdfunding: None,
            },
            &[],
        )
        .await
        .unwrap_err();
    assert!(is_not_found(&err, Entity::SubmitToken), "{err:?}");
    assert_eq!(store.get_order(again.id).await.unwrap(), None);
    assert_eq!(fx.stock(a.id).await, 8);

    // Without `clear_cart` the cart stays as it is.
    let keep = fx.build_order(buyer, &[(c, 1)], None);
    fx.place(&keep).await.unwrap();
    assert_eq!(fx.stock(c.id).await, 2);
    assert_eq!(store.list_cart(buyer).await.unwrap(), cart);
    assert_eq!(fx.used(coupon.id).await, 1);
    assert_eq!(fx.order_count().await, 2);
}

/// A two-SKU order whose second SKU lacks stock writes nothing at all: no
/// stock taken from the first SKU, no order, the token still usable, the
/// coupon's use and the cart unchanged.
pub async fn place_order_out_of_stock_writes_nothing<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 5), ("20.00", 1)]).await;
    let (a, b) = (&skus[0], &skus[1]);
    let coupon = fx.coupon(10).await;
    let buyer = fx.user();
    store.add_to_cart(buyer, a.id, 2, fx.now).await.unwrap();
    store.add_to_cart(buyer, b.id, 3, fx.now).await.unwrap();
    store
        .issue_submit_token(buyer, "token-2", fx.now + Duration::minutes(10))
        .await
        .unwrap();
    let before = fx.observe(&[a, b], Some(&coupon), buyer).await;

    let order = fx.build_order(buyer, &[(a, 2), (b, 3)], Some(&coupon));
    let err = store
        .place_order(
            &PlaceOrder {
                order: order.clone(),
                submit_token: Some(SubmitTokenUse::new("token-2", "fingerprint")),
                clear_cart: true,
                flash_sale: None,
                crowdfunding: None,
            },
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::OutOfStock { sku, requested: 3, available: 1 } if sku == b.id),
        "{err:?}"
    );
    assert_eq!(fx.observe(&[a, b], Some(&coupon), buyer).await, before);
    assert_eq!(before.stock, [5, 1]);
    assert_eq!(before.used, Some(0));
    assert_eq!(store.get_order(order.id).await.unwrap(), None);
    assert_eq!(store.get_order_by_no(&order.no).await.unwrap(), None);

    // The same token, coupon and cart still work for an order that fits.
    let fits = fx.build_order(buyer, &[(a, 2), (b, 1)], Some(&coupon));
    store
        .place_order(
            &PlaceOrder {
                order: fits.clone(),
                submit_token: Some(SubmitTokenUse::new("token-2", "fingerprint")),
                clear_cart: true,
                flash_sale: None,
                crowdfunding: None,
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(fx.stock(a.id).await, 3);
    assert_eq!(fx.stock(b.id).await, 0);
    assert_eq!(fx.used(coupon.id).await, 1);
    assert_eq!(store.list_cart(buyer).await.unwrap(), vec![]);
}

/// The coupon is checked again inside the step, in order: unknown
/// (`NotFound`), disabled, exhausted, not yet valid, expired (validity at
/// the order's `created_at`, bounds inclusive); a refusal writes nothing.
pub async fn place_order_rechecks_coupon<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(100).await;
    let buyer = fx.user();
    let make = |f: &dyn Fn(&mut Coupon)| {
        let mut c = fx.build_coupon(5);
        f(&mut c);
        c
    };
    let hour = Duration::hours(1);
    let cases = [
        (
            make(&|c| {
                c.draft.enabled = false;
                c.used = 5;
            }),
            CouponRejection::Disabled,
        ),
        (make(&|c| c.used = 5), CouponRejection::Exhausted),
        (
            make(&|c| c.draft.not_before = Some(fx.now + Duration::seconds(1))),
            CouponRejection::NotYetValid,
        ),
        (
            make(&|c| c.draft.not_after = Some(fx.now - Duration::seconds(1))),
            CouponRejection::Expired,
        ),
    ];
    for (coupon, reason) in &cases {
        store.create_coupon(coupon).await.unwrap();
        let before = fx.observe(&[&sku], Some(coupon), buyer).await;
        let order = fx.build_order(buyer, &[(&sku, 1)], Some(coupon));
        let err = fx.place(&order).await.unwrap_err();
        assert!(
            matches!(&err, Error::CouponRejected(r) if r == reason),
            "expected {reason:?}, got {err:?}"
        );
        assert_eq!(fx.observe(&[&sku], Some(coupon), buyer).await, before);
        assert_eq!(store.get_order(order.id).await.unwrap(), None);
    }

    let mut ghost = fx.build_coupon(5);
    ghost.id = CouponId(999_999);
    let order = fx.build_order(buyer, &[(&sku, 1)], Some(&ghost));
    let err = fx.place(&order).await.unwrap_err();
    assert!(is_not_found(&err, Entity::Coupon), "{err:?}");
    assert_eq!(fx.stock(sku.id).await, 100);

    // The window's bounds are inclusive, and one copy left is enough.
    let edge = make(&|c| {
        c.draft.not_before = Some(fx.now);
        c.draft.not_after = Some(fx.now);
        c.used = 4;
    });
    store.create_coupon(&edge).await.unwrap();
    fx.placed(buyer, &[(&sku, 1)], Some(&edge)).await;
    assert_eq!(fx.used(edge.id).await, 5);
    assert_eq!(fx.stock(sku.id).await, 99);

    // The window is judged at the order's `created_at`, not the wall clock.
    let past = make(&|c| c.draft.not_after = Some(fx.now + hour));
    store.create_coupon(&past).await.unwrap();
    let later = fx.build_order_at(buyer, &[(&sku, 1)], Some(&past), fx.now + hour * 2);
    let err = fx.place(&later).await.unwrap_err();
    assert!(
        matches!(err, Error::CouponRejected(CouponRejection::Expired)),
        "{err:?}"
    );
    assert_eq!(fx.used(past.id).await, 0);
    assert_eq!(fx.order_count().await, 1);
}

/// A taken order number is `AlreadyExists { Order }` and writes nothing:
/// stock, coupon, token and cart stay as they were.
pub async fn place_order_duplicate_number_writes_nothing<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(10).await;
    let coupon = fx.coupon(10).await;
    let (first_buyer, buyer) = (fx.user(), fx.user());
    let first = fx.placed(first_buyer, &[(&sku, 1)], None).await;
    store.add_to_cart(buyer, sku.id, 2, fx.now).await.unwrap();
    store
        .issue_submit_token(buyer, "token-3", fx.now + Duration::minutes(10))
        .await
        .unwrap();
    let before = fx.observe(&[&sku], Some(&coupon), buyer).await;

    let mut twin = fx.build_order(buyer, &[(&sku, 2)], Some(&coupon));
    twin.no = first.no.clone();
    let cmd = PlaceOrder {
        order: twin.clone(),
        submit_token: Some(SubmitTokenUse::new("token-3", "fingerprint")),
        clear_cart: true,
        flash_sale: None,
        crowdfunding: None,
    };
    let err = store.place_order(&cmd, &[]).await.unwrap_err();
    assert!(is_already_exists(&err, Entity::Order), "{err:?}");
    assert_eq!(fx.observe(&[&sku], Some(&coupon), buyer).await, before);
    assert_eq!(store.get_order(twin.id).await.unwrap(), None);
    assert_eq!(store.get_order_by_no(&first.no).await.unwrap(), Some(first));

    // Retried with a fresh number, the same command goes through.
    let mut retry = cmd.clone();
    retry.order.no = fx.order_nos.next(fx.now);
    store.place_order(&retry, &[]).await.unwrap();
    assert_eq!(fx.stock(sku.id).await, 7);
    assert_eq!(fx.used(coupon.id).await, 1);
    assert_eq!(store.list_cart(buyer).await.unwrap(), vec![]);
}

/// Submit tokens: unknown, another user's, expired (`expires_at` not after
/// `created_at`) and spent tokens are `NotFound { SubmitToken }` and write
/// nothing; a token cannot be issued twice; a consumed token tells its
/// owner (only) which order it placed and for which request.
pub async fn submit_token_is_single_use<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(10).await;
    let (buyer, other) = (fx.user(), fx.user());
    let soon = fx.now + Duration::minutes(10);
    store.issue_submit_token(buyer, "mine", soon).await.unwrap();
    store
        .issue_submit_token(other, "theirs", soon)
        .await
        .unwrap();
    store
        .issue_submit_token(buyer, "stale", fx.now)
        .await
        .unwrap();
    let err = store
        .issue_submit_token(buyer, "mine", soon)
        .await
        .unwrap_err();
    assert!(is_already_exists(&err, Entity::SubmitToken), "{err:?}");

    let attempt = |token: &str| PlaceOrder {
        order: fx.build_order(buyer, &[(&sku, 1)], None),
        submit_token: Some(SubmitTokenUse::new(token, "fingerprint")),
        clear_cart: false,
        flash_sale: None,
        crowdfunding: None,
    };
    for token in ["unknown", "theirs", "stale"] {
        let cmd = attempt(token);
        let err = store.place_order(&cmd, &[]).await.unwrap_err();
        assert!(is_not_found(&err, Entity::SubmitToken), "{token}: {err:?}");
        assert_eq!(store.get_order(cmd.order.id).await.unwrap(), None);
    }
    assert_eq!(fx.stock(sku.id).await, 10);
    assert_eq!(fx.order_count().await, 0);

    for token in ["mine", "theirs", "stale", "unknown"] {
        assert_eq!(store.submitted_order(buyer, token).await.unwrap(), None);
    }
    let mut placed = attempt("mine");
    placed.submit_token = Some(SubmitTokenUse::new("mine", "request-1"));
    store.place_order(&placed, &[]).await.unwrap();
    let err = store.place_order(&attempt("mine"), &[]).await.unwrap_err();
    assert!(is_not_found(&err, Entity::SubmitToken), "{err:?}");
    assert_eq!(fx.stock(sku.id).await, 9);
    assert_eq!(fx.order_count().await, 1);
    assert_eq!(
        store.submitted_order(buyer, "mine").await.unwrap(),
        Some(SubmittedOrder {
            order_id: placed.order.id,
            request_fingerprint: "request-1".to_owned(),
        })
    );
    assert_eq!(store.submitted_order(other, "mine").await.unwrap(), None);

    // The other user's token is still theirs to use.
    let theirs = PlaceOrder {
        order: fx.build_order(other, &[(&sku, 1)], None),
        submit_token: Some(SubmitTokenUse::new("theirs", "fingerprint")),
        clear_cart: false,
        flash_sale: None,
        crowdfunding: None,
    };
    store.place_order(&theirs, &[]).await.unwrap();
    assert_eq!(fx.order_count().await, 2);
}
