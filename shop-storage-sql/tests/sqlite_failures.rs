//! A statement failing in the middle of placing an order (after the stock
//! decrement and the coupon's use, at the coupon hold) leaves nothing behind
//! on SQLite.

mod common;

use std::sync::Arc;

use shop_core::conformance::fixtures::Fixture;
use shop_core::order::{OrderStore, PlaceOrder, SubmitTokenStore, SubmitTokenUse};

#[tokio::test]
async fn a_failure_after_the_stock_decrement_writes_nothing() {
    let store = Arc::new(common::sqlite_store().await);
    let fx = Fixture::new(Arc::clone(&store));
    let buyer = fx.user();
    let skus = fx.product(&[("10.00", 5), ("20.00", 5)]).await;
    let coupon = fx.coupon(10).await;
    for sku in &skus {
        shop_core::cart::CartStore::add_to_cart(&*store, buyer, sku.id, 1, fx.now)
            .await
            .unwrap();
    }
    store
        .issue_submit_token(buyer, "tok", fx.now + chrono::Duration::minutes(5))
        .await
        .unwrap();
    // The coupon hold is the last statement of the placement: make it fail.
    sqlx::query(
        "CREATE TRIGGER injected BEFORE INSERT ON shop_coupon_holds \
         BEGIN SELECT RAISE(ABORT, 'injected'); END",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let before = fx
        .observe(&[&skus[0], &skus[1]], Some(&coupon), buyer)
        .await;
    let order = fx.build_order(buyer, &[(&skus[0], 2), (&skus[1], 3)], Some(&coupon));
    let events = fx.placement_events(&order);
    let cmd = PlaceOrder {
        order: order.clone(),
        submit_token: Some(SubmitTokenUse::new("tok", "fingerprint")),
        clear_cart: true,
        flash_sale: None,
        crowdfunding: None,
    };
    let err = store.place_order(&cmd, &events).await.unwrap_err();
    assert!(err.to_string().contains("injected"), "{err}");
    assert_eq!(
        fx.observe(&[&skus[0], &skus[1]], Some(&coupon), buyer)
            .await,
        before
    );
    assert_eq!(store.get_order(order.id).await.unwrap(), None);

    // Nothing was consumed: the same command succeeds once the fault is gone.
    sqlx::query("DROP TRIGGER injected")
        .execute(store.pool())
        .await
        .unwrap();
    store.place_order(&cmd, &events).await.unwrap();
    assert_eq!(fx.stock(skus[0].id).await, 3);
    assert_eq!(fx.stock(skus[1].id).await, 2);
    assert_eq!(fx.used(coupon.id).await, 1);
}
