//! Conformance cases: the cart port alone.
//!
//! These cases need nothing but a [`CartStore`], so a backend that keeps only
//! carts (Redis) runs them too: carts hold ids, and no case here needs the
//! SKUs to exist.

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::base_time;
use super::{concurrently, is_not_found, is_refused, is_validation};
use crate::cart::{CartItem, CartStore, MAX_LINE_QUANTITY};
use crate::error::Entity;
use crate::ids::{SkuId, UserId};

/// Carts: add, merge into an existing line (keeping its first time), list
/// oldest first (ties by SKU id), set a quantity, remove, per user.
pub async fn cart_add_merge_update_remove<C: CartStore + ?Sized>(store: Arc<C>) {
    let (s1, s2, s3) = (SkuId(1_001), SkuId(1_002), SkuId(1_003));
    let (alice, bob) = (UserId(2_001), UserId(2_002));
    let at = |minutes: i64| base_time() + Duration::minutes(minutes);
    let line = |user, sku, quantity, minutes| CartItem {
        user_id: user,
        sku_id: sku,
        quantity,
        added_at: at(minutes),
    };

    assert_eq!(store.list_cart(alice).await.unwrap(), vec![]);
    assert_eq!(store.add_to_cart(alice, s2, 1, at(0)).await.unwrap(), 1);
    assert_eq!(store.add_to_cart(alice, s1, 2, at(1)).await.unwrap(), 2);
    assert_eq!(store.add_to_cart(alice, s2, 3, at(2)).await.unwrap(), 4);
    assert_eq!(
        store.list_cart(alice).await.unwrap(),
        vec![line(alice, s2, 4, 0), line(alice, s1, 2, 1)]
    );
    assert_eq!(store.add_to_cart(alice, s3, 1, at(0)).await.unwrap(), 1);
    assert_eq!(
        store.list_cart(alice).await.unwrap(),
        vec![
            line(alice, s2, 4, 0),
            line(alice, s3, 1, 0),
            line(alice, s1, 2, 1)
        ]
    );

    store.set_cart_quantity(alice, s1, 5).await.unwrap();
    let err = store.set_cart_quantity(bob, s1, 5).await.unwrap_err();
    assert!(is_not_found(&err, Entity::CartItem), "{err:?}");
    assert_eq!(store.list_cart(bob).await.unwrap(), vec![]);

    store
        .remove_from_cart(alice, &[s2, SkuId(999_999)])
        .await
        .unwrap();
    assert_eq!(
        store.list_cart(alice).await.unwrap(),
        vec![line(alice, s3, 1, 0), line(alice, s1, 5, 1)]
    );
    let err = store.set_cart_quantity(alice, s2, 1).await.unwrap_err();
    assert!(is_not_found(&err, Entity::CartItem), "{err:?}");
    assert_eq!(store.list_cart(alice).await.unwrap().len(), 2);

    assert_eq!(store.add_to_cart(bob, s1, 7, at(9)).await.unwrap(), 7);
    assert_eq!(
        store.list_cart(bob).await.unwrap(),
        vec![line(bob, s1, 7, 9)]
    );
    assert_eq!(
        store.list_cart(alice).await.unwrap(),
        vec![line(alice, s3, 1, 0), line(alice, s1, 5, 1)]
    );
    store.remove_from_cart(alice, &[s1, s3]).await.unwrap();
    store.remove_from_cart(alice, &[]).await.unwrap();
    assert_eq!(store.list_cart(alice).await.unwrap(), vec![]);
    assert_eq!(store.list_cart(bob).await.unwrap().len(), 1);
}

/// Concurrent adds lose nothing: 40 tasks adding one unit of the same SKU
/// leave one line of exactly 40 (each task sees a distinct resulting
/// quantity), and 40 tasks adding 40 different SKUs leave 40 lines.
pub async fn cart_concurrent_adds_count_exactly<C: CartStore + ?Sized>(store: Arc<C>) {
    const TASKS: u32 = 40;
    let (alice, bob) = (UserId(3_001), UserId(3_002));
    let sku = SkuId(4_001);
    let now = base_time();
    let results = concurrently(
        (0..TASKS)
            .map(|i| {
                let store = Arc::clone(&store);
                let at = now + Duration::seconds(i64::from(i));
                async move { store.add_to_cart(alice, sku, 1, at).await }
            })
            .collect(),
    )
    .await;
    let mut seen: Vec<u32> = results.into_iter().map(|r| r.unwrap()).collect();
    seen.sort_unstable();
    assert_eq!(seen, (1..=TASKS).collect::<Vec<_>>());
    let lines = store.list_cart(alice).await.unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0].quantity, TASKS);

    let results = concurrently(
        (0..TASKS)
            .map(|i| {
                let store = Arc::clone(&store);
                async move {
                    store
                        .add_to_cart(bob, SkuId(5_000 + i64::from(i)), 2, now)
                        .await
                }
            })
            .collect(),
    )
    .await;
    assert!(results.iter().all(|r| matches!(r, Ok(2))), "{results:?}");
    let lines = store.list_cart(bob).await.unwrap();
    assert_eq!(
        lines.iter().map(|l| l.sku_id).collect::<Vec<_>>(),
        (0..TASKS)
            .map(|i| SkuId(5_000 + i64::from(i)))
            .collect::<Vec<_>>(),
        "same time, so ordered by SKU id"
    );
    assert!(lines.iter().all(|l| l.quantity == 2 && l.user_id == bob));
    assert_eq!(store.list_cart(alice).await.unwrap().len(), 1);
}

/// A line holds 1 to [`MAX_LINE_QUANTITY`] units, enforced in the atomic
/// write: zero adds or sets are `Validation { quantity }`, too-large ones
/// `Refused { quantity }`, and neither changes anything; 20 concurrent adds
/// of 100 units to one line let exactly 9 through.
pub async fn cart_line_quantities_stay_within_limits<C: CartStore + ?Sized>(store: Arc<C>) {
    let (user, other) = (UserId(6_001), UserId(6_002));
    let (sku, hot) = (SkuId(6_101), SkuId(6_102));
    let now = base_time();
    let err = store.add_to_cart(user, sku, 0, now).await.unwrap_err();
    assert!(is_validation(&err, "quantity"), "{err:?}");
    assert_eq!(store.list_cart(user).await.unwrap(), vec![]);
    let err = store
        .add_to_cart(user, sku, MAX_LINE_QUANTITY + 1, now)
        .await
        .unwrap_err();
    assert!(is_refused(&err, "quantity"), "{err:?}");
    assert_eq!(store.list_cart(user).await.unwrap(), vec![]);

    let max = MAX_LINE_QUANTITY;
    assert_eq!(
        store.add_to_cart(user, sku, max - 1, now).await.unwrap(),
        max - 1
    );
    let err = store.add_to_cart(user, sku, 2, now).await.unwrap_err();
    assert!(is_refused(&err, "quantity"), "{err:?}");
    let err = store
        .add_to_cart(user, sku, u32::MAX, now)
        .await
        .unwrap_err();
    assert!(is_refused(&err, "quantity"), "{err:?}");
    assert_eq!(store.list_cart(user).await.unwrap()[0].quantity, max - 1);
    assert_eq!(store.add_to_cart(user, sku, 1, now).await.unwrap(), max);
    let err = store.set_cart_quantity(user, sku, 0).await.unwrap_err();
    assert!(is_validation(&err, "quantity"), "{err:?}");
    for bad in [max + 1, u32::MAX] {
        let err = store.set_cart_quantity(user, sku, bad).await.unwrap_err();
        assert!(is_refused(&err, "quantity"), "{bad}: {err:?}");
    }
    assert_eq!(store.list_cart(user).await.unwrap()[0].quantity, max);

    let results = concurrently(
        (0..20)
            .map(|_| {
                let store = Arc::clone(&store);
                async move { store.add_to_cart(other, hot, 100, now).await }
            })
            .collect(),
    )
    .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 9, "{results:?}");
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| is_refused(e, "quantity")));
    assert_eq!(store.list_cart(other).await.unwrap()[0].quantity, 900);
}
