//! The shop-core conformance suite on PostgreSQL, each test in a fresh
//! schema of its own, plus two checks that a placement which fails after it
//! has taken stock leaves nothing behind.
//!
//! The server is `SHOP_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); when it is unreachable the
//! tests skip loudly (or fail when `CI` is set).

mod common;

use std::sync::Arc;
use std::time::Duration;

use shop_core::cart::CartStore;
use shop_core::conformance::fixtures::Fixture;
use shop_core::coupon::CouponRejection;
use shop_core::order::{OrderStore, PlaceOrder, SubmitTokenStore, SubmitTokenUse};
use shop_core::Error;

use common::pg::{fresh, fresh_schema};

shop_core::conformance_tests!(skippable fresh());

/// Kills the server session of a `place_order` while it waits for a lock on
/// the second SKU it takes (so it has already decremented the first one):
/// the call fails and nothing it did survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_session_mid_placement_writes_nothing() {
    let Some((store, schema)) = fresh_schema().await else {
        return;
    };
    let store = Arc::new(store);
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 5), ("20.00", 5)]).await;
    let (a, b) = (&skus[0], &skus[1]);
    assert!(a.id < b.id, "stock is taken in SKU-id order: a first");
    let coupon = fx.coupon(10).await;
    let buyer = fx.user();
    store.add_to_cart(buyer, a.id, 2, fx.now).await.unwrap();
    let before = fx.observe(&[a, b], Some(&coupon), buyer).await;

    // Another transaction holds b's row: the placement will wait on it.
    let mut blocker = store.pool().begin().await.unwrap();
    sqlx::query("SELECT id FROM shop_skus WHERE id = $1 FOR UPDATE")
        .bind(b.id.0)
        .fetch_one(&mut *blocker)
        .await
        .unwrap();

    let order = fx.build_order(buyer, &[(a, 2), (b, 3)], Some(&coupon));
    let events = fx.placement_events(&order);
    let placing = tokio::spawn({
        let store = Arc::clone(&store);
        let cmd = PlaceOrder {
            order: order.clone(),
            submit_token: None,
            clear_cart: true,
            flash_sale: None,
            crowdfunding: None,
        };
        async move { store.place_order(&cmd, &events).await }
    });

    // The placement's session, blocked in the stock decrement.
    let mut waited = Duration::ZERO;
    let pid: i32 = loop {
        let found: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 \
             AND wait_event_type = 'Lock' AND query LIKE 'UPDATE shop_skus SET stock = stock - %'",
        )
        .bind(&schema)
        .fetch_optional(store.pool())
        .await
        .unwrap();
        if let Some(pid) = found {
            break pid;
        }
        assert!(
            waited < Duration::from_secs(20),
            "the placement never blocked on the second SKU"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    };
    // It has taken a's stock: a's row is locked by its update.
    let err = sqlx::query("SELECT id FROM shop_skus WHERE id = $1 FOR UPDATE NOWAIT")
        .bind(a.id.0)
        .fetch_one(store.pool())
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|d| d.code()).as_deref(),
        Some("55P03"),
        "a's row should be locked by the placement: {err}"
    );

    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(killed);
    let result = tokio::time::timeout(Duration::from_secs(20), placing)
        .await
        .expect("place_order returns once its session is killed")
        .unwrap();
    let err = result.expect_err("a placement whose session was killed fails");
    eprintln!("place_order failed as expected: {err:?}");
    assert!(matches!(err, Error::Store(_)), "{err:?}");
    blocker.rollback().await.unwrap();

    assert_eq!(fx.observe(&[a, b], Some(&coupon), buyer).await, before);
    assert_eq!(store.get_order(order.id).await.unwrap(), None);
    assert_eq!(store.get_order_by_no(&order.no).await.unwrap(), None);

    // Nothing is left half-done: the same order goes through now.
    fx.placed(buyer, &[(a, 2), (b, 3)], Some(&coupon)).await;
    assert_eq!((fx.stock(a.id).await, fx.stock(b.id).await), (3, 2));
    assert_eq!(fx.used(coupon.id).await, 1);
}

/// A placement refused by a statement that runs after every stock
/// decrement (the coupon's use, then its once-per-user hold) writes
/// nothing: stock, coupon, token, cart and orders stay as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusal_after_stock_decrement_writes_nothing() {
    let Some(store) = fresh().await else {
        return;
    };
    let store = Arc::new(store);
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 5), ("20.00", 5)]).await;
    let (a, b) = (&skus[0], &skus[1]);
    let buyer = fx.user();

    // Held: the buyer already has it on a live order (refused when the hold
    // is inserted, after `used` was incremented). Exhausted: its one copy is
    // taken (refused by the `used < total` update).
    let held = fx.coupon(10).await;
    fx.placed(buyer, &[(a, 1)], Some(&held)).await;
    let exhausted = fx.coupon(1).await;
    fx.placed(fx.user(), &[(b, 1)], Some(&exhausted)).await;

    store.add_to_cart(buyer, a.id, 2, fx.now).await.unwrap();
    store.add_to_cart(buyer, b.id, 3, fx.now).await.unwrap();
    store
        .issue_submit_token(buyer, "after-stock", fx.now + chrono::Duration::minutes(10))
        .await
        .unwrap();

    for (coupon, reason) in [
        (&held, CouponRejection::AlreadyUsed),
        (&exhausted, CouponRejection::Exhausted),
    ] {
        let before = fx.observe(&[a, b], Some(coupon), buyer).await;
        let order = fx.build_order(buyer, &[(a, 2), (b, 3)], Some(coupon));
        let err = store
            .place_order(
                &PlaceOrder {
                    order: order.clone(),
                    submit_token: Some(SubmitTokenUse::new("after-stock", "fingerprint")),
                    clear_cart: true,
                    flash_sale: None,
                    crowdfunding: None,
                },
                &fx.placement_events(&order),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::CouponRejected(r) if *r == reason),
            "expected {reason:?}, got {err:?}"
        );
        assert_eq!(fx.observe(&[a, b], Some(coupon), buyer).await, before);
        assert_eq!(before.stock, [4, 4]);
        assert_eq!(store.get_order(order.id).await.unwrap(), None);
    }

    // The token and the cart are still there for an order that fits.
    let fits = fx.build_order(buyer, &[(a, 2), (b, 3)], None);
    let events = fx.placement_events(&fits);
    store
        .place_order(
            &PlaceOrder {
                order: fits,
                submit_token: Some(SubmitTokenUse::new("after-stock", "fingerprint")),
                clear_cart: true,
                flash_sale: None,
                crowdfunding: None,
            },
            &events,
        )
        .await
        .unwrap();
    assert_eq!((fx.stock(a.id).await, fx.stock(b.id).await), (2, 1));
    assert_eq!(store.list_cart(buyer).await.unwrap(), vec![]);
}

/// Stock is taken in SKU-id order, but the refusal names the same line as
/// the in-memory store: the first line, in the order's own line order, that
/// does not fit (earlier lines of the same SKU counted first).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn out_of_stock_names_the_first_short_line_in_line_order() {
    let Some(store) = fresh().await else {
        return;
    };
    let store = Arc::new(store);
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 2), ("20.00", 4)]).await;
    let (a, b) = (&skus[0], &skus[1]);
    assert!(a.id < b.id);
    let buyer = fx.user();
    let before = fx.observe(&[a, b], None, buyer).await;

    // Both lines are short; b's comes first in the order, a's first by id.
    let both_short = fx.build_order(buyer, &[(b, 5), (a, 3)], None);
    let err = fx.place(&both_short).await.unwrap_err();
    assert!(
        matches!(err, Error::OutOfStock { sku, requested: 5, available: 4 } if sku == b.id),
        "{err:?}"
    );
    // b twice: the second line only sees what the first one left.
    let twice = fx.build_order(buyer, &[(b, 3), (a, 1), (b, 2)], None);
    let err = fx.place(&twice).await.unwrap_err();
    assert!(
        matches!(err, Error::OutOfStock { sku, requested: 2, available: 1 } if sku == b.id),
        "{err:?}"
    );
    assert_eq!(fx.observe(&[a, b], None, buyer).await, before);
    assert_eq!(fx.order_count().await, 0);
}

/// The shop's tables and migration records live beside an application's
/// own sqlx migrations and its tables named `products`, `orders` and
/// `sessions`; both migrate again and keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_migrates_beside_an_apps_own_migrations() {
    let Some((store, _)) = common::pg::unmigrated_schema().await else {
        return;
    };
    shop_beside_app!(store);
}
