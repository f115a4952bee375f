//! The read cache's contract, for every implementation (memory, Redis):
//! a put after a miss is stored only while no invalidation came in
//! between, so a page read before an edit is never stored after it.

use std::sync::Arc;

use chrono::Duration;

use super::shop::ShopWorld;
use super::Backend;
use crate::cache::ReadCache;
use crate::{Shop, Stores};

/// See the module documentation.
pub async fn read_cache_versioned_puts<C: ReadCache>(cache: Arc<C>) {
    let ttl = Duration::minutes(5);
    let (missing, v0) = cache.get("product:1").await.unwrap();
    assert_eq!(missing, None);
    assert!(cache.put("product:1", "old", v0, ttl).await.unwrap());
    assert_eq!(
        cache.get("product:1").await.unwrap().0.as_deref(),
        Some("old")
    );

    // A reader misses, the edit's invalidation lands, the reader comes
    // back with what it read before the edit: refused.
    cache.invalidate("product:1").await.unwrap();
    let (gone, v1) = cache.get("product:1").await.unwrap();
    assert_eq!(gone, None);
    assert_ne!(v1, v0);
    cache.invalidate("product:1").await.unwrap();
    assert!(!cache.put("product:1", "stale", v1, ttl).await.unwrap());
    assert_eq!(cache.get("product:1").await.unwrap().0, None);
    let (_, v2) = cache.get("product:1").await.unwrap();
    assert!(cache.put("product:1", "new", v2, ttl).await.unwrap());
    assert_eq!(
        cache.get("product:1").await.unwrap().0.as_deref(),
        Some("new")
    );
    // Keys are apart.
    assert_eq!(cache.get("product:2").await.unwrap().0, None);
    cache.invalidate("product:2").await.unwrap();
    assert_eq!(
        cache.get("product:1").await.unwrap().0.as_deref(),
        Some("new")
    );
}

/// Product pages through `cache` in front of `store`: served from the
/// cache (a write behind the shop's back is not seen), an administrator's
/// edit served by every instance on the cache after its event is
/// dispatched, a product taken off sale gone after its event, the
/// category tree cached and a new category shown at once.
pub async fn read_cache_serves_edits_after_dispatch<B: Backend>(
    store: Arc<B>,
    cache: Arc<dyn ReadCache>,
) {
    let w = ShopWorld::new(store.clone());
    let instance = || {
        Shop::builder(Stores::from_backend(store.clone()))
            .clock(w.clock.clone())
            .read_cache(cache.clone())
            .build()
    };
    let shop = instance();
    let sku = w.sku("Tea cup", "10.00", 5).await;
    let id = sku.product_id;
    assert_eq!(
        shop.product_detail(id).await.unwrap().product.title,
        "Tea cup"
    );

    // Served from the cache: a write behind the shop's back is not seen.
    let mut behind = store.get_product(id).await.unwrap().unwrap();
    behind.title = "Changed behind its back".into();
    store.update_product(&behind, &[]).await.unwrap();
    assert_eq!(
        shop.product_detail(id).await.unwrap().product.title,
        "Tea cup"
    );

    // An administrator's edit: after the next dispatch, the new title, on
    // every instance sharing the cache.
    let mut draft = ShopWorld::product_draft("Tea cup, blue", "A thing.");
    draft.on_sale = true;
    shop.update_product(id, draft).await.unwrap();
    shop.dispatch_events().await.unwrap();
    assert_eq!(
        shop.product_detail(id).await.unwrap().product.title,
        "Tea cup, blue"
    );
    assert_eq!(
        instance().product_detail(id).await.unwrap().product.title,
        "Tea cup, blue"
    );
    // Taken off sale: gone from the storefront after the dispatch.
    shop.set_on_sale(id, false).await.unwrap();
    shop.dispatch_events().await.unwrap();
    assert!(shop.product_detail(id).await.is_err());

    // The category tree is cached and a new category shows at once.
    assert!(shop.category_tree().await.unwrap().is_empty());
    shop.create_category("Kitchen", true, None).await.unwrap();
    assert_eq!(shop.category_tree().await.unwrap().len(), 1);
}
