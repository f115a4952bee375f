//! Addresses and favorites.

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::{base_time, Fixture};
use super::{is_already_exists, is_not_found, Backend};
use crate::error::Entity;
use crate::ids::{ProductId, UserId};
use crate::user::{Address, HistoryStore};

/// Addresses: create, load, list (most recently used first, never used
/// last, then newest first), update, delete, per user.
pub async fn addresses_crud_and_order<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let (alice, bob) = (fx.user(), fx.user());
    let used = |address: Address, hours: Option<i64>| Address {
        last_used_at: hours.map(|h| fx.now + Duration::hours(h)),
        ..address
    };
    let a1 = used(fx.build_address(alice), None);
    let a2 = used(fx.build_address(alice), Some(1));
    let a3 = used(fx.build_address(alice), None);
    let a4 = used(fx.build_address(alice), Some(2));
    let b1 = used(fx.build_address(bob), Some(5));
    for a in [&a1, &a2, &a3, &a4, &b1] {
        store.create_address(a).await.unwrap();
    }
    let err = store.create_address(&a1).await.unwrap_err();
    assert!(is_already_exists(&err, Entity::Address), "{err:?}");

    assert_eq!(store.get_address(a1.id).await.unwrap(), Some(a1.clone()));
    assert_eq!(
        store.list_addresses(alice).await.unwrap(),
        vec![a4.clone(), a2.clone(), a3.clone(), a1.clone()]
    );
    assert_eq!(store.list_addresses(bob).await.unwrap(), vec![b1.clone()]);
    assert_eq!(store.list_addresses(fx.user()).await.unwrap(), vec![]);

    let mut edited = used(a1.clone(), Some(3));
    edited.fields.city = "Guangzhou".to_owned();
    edited.fields.contact_name = "Alice Li".to_owned();
    store.update_address(&edited).await.unwrap();
    assert_eq!(
        store.get_address(a1.id).await.unwrap(),
        Some(edited.clone())
    );
    assert_eq!(
        store.list_addresses(alice).await.unwrap(),
        vec![edited.clone(), a4.clone(), a2.clone(), a3.clone()]
    );

    store.delete_address(a2.id).await.unwrap();
    assert_eq!(store.get_address(a2.id).await.unwrap(), None);
    let err = store.delete_address(a2.id).await.unwrap_err();
    assert!(is_not_found(&err, Entity::Address), "{err:?}");
    let err = store.update_address(&a2).await.unwrap_err();
    assert!(is_not_found(&err, Entity::Address), "{err:?}");
    assert_eq!(store.get_address(a2.id).await.unwrap(), None);
    assert_eq!(
        store.list_addresses(alice).await.unwrap(),
        vec![edited, a4, a3]
    );
    assert_eq!(store.list_addresses(bob).await.unwrap(), vec![b1]);
}

/// Favorites: adding twice is a no-op that keeps the first time, newest
/// first, removal (also of an absent one), separate per user.
pub async fn favorites_idempotent_newest_first<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let mut products: Vec<ProductId> = Vec::new();
    for title in ["One", "Two", "Three"] {
        let (p, skus) = fx.build_product(title, None, &[("1.00", 1)]);
        store.create_product(&p, &skus, &[]).await.unwrap();
        products.push(p.id);
    }
    let (p1, p2, p3) = (products[0], products[1], products[2]);
    let (alice, bob) = (fx.user(), fx.user());
    let at = |minutes: i64| fx.now + Duration::minutes(minutes);

    store.add_favorite(alice, p1, at(0)).await.unwrap();
    store.add_favorite(alice, p2, at(1)).await.unwrap();
    store.add_favorite(alice, p3, at(2)).await.unwrap();
    store.add_favorite(alice, p1, at(3)).await.unwrap();
    assert_eq!(store.list_favorites(alice).await.unwrap(), [p3, p2, p1]);

    store.remove_favorite(alice, p2).await.unwrap();
    store.remove_favorite(alice, p2).await.unwrap();
    assert_eq!(store.list_favorites(alice).await.unwrap(), [p3, p1]);

    assert_eq!(store.list_favorites(bob).await.unwrap(), []);
    store.add_favorite(bob, p2, at(5)).await.unwrap();
    store.remove_favorite(bob, p1).await.unwrap();
    assert_eq!(store.list_favorites(bob).await.unwrap(), [p2]);
    assert_eq!(store.list_favorites(alice).await.unwrap(), [p3, p1]);
}

/// A buyer's recently viewed products: the latest view first, a product
/// viewed again moves to the front (listed once), ties by product id
/// (highest first), only the newest `keep` kept, buyers apart, `limit`
/// honoured.
pub async fn history_newest_first_and_capped<H: HistoryStore>(store: Arc<H>) {
    let (ann, bob) = (UserId(1), UserId(2));
    let t = base_time();
    for (i, product) in [10, 11, 12, 13].into_iter().enumerate() {
        store
            .record_view(ann, ProductId(product), t + Duration::seconds(i as i64), 3)
            .await
            .unwrap();
    }
    // Only the newest three: 13, 12, 11.
    let ids = |v: Vec<ProductId>| v.into_iter().map(|p| p.0).collect::<Vec<_>>();
    assert_eq!(
        ids(store.recently_viewed(ann, 10).await.unwrap()),
        [13, 12, 11]
    );
    // Viewed again: to the front, once.
    store
        .record_view(ann, ProductId(11), t + Duration::seconds(10), 3)
        .await
        .unwrap();
    assert_eq!(
        ids(store.recently_viewed(ann, 10).await.unwrap()),
        [11, 13, 12]
    );
    assert_eq!(ids(store.recently_viewed(ann, 2).await.unwrap()), [11, 13]);
    // Same time: the higher id first.
    store.record_view(bob, ProductId(20), t, 5).await.unwrap();
    store.record_view(bob, ProductId(21), t, 5).await.unwrap();
    assert_eq!(ids(store.recently_viewed(bob, 10).await.unwrap()), [21, 20]);
    assert!(store
        .recently_viewed(UserId(3), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        ids(store.recently_viewed(ann, 10).await.unwrap()),
        [11, 13, 12]
    );
}
