//! The read cache: the contract on the in-memory cache, and product pages
//! through it — served from the cache, never stale after an edit's event
//! is dispatched.

#![cfg(feature = "testing")]

use std::sync::Arc;

use shop_core::catalog::CatalogStore;
use shop_core::conformance::read_cache_versioned_puts;
use shop_core::conformance::shop::ShopWorld;
use shop_core::memory::{MemoryReadCache, MemoryStore};
use shop_core::{Shop, Stores};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_cache_keeps_the_contract() {
    read_cache_versioned_puts(Arc::new(MemoryReadCache::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_is_never_served_stale_after_its_event_is_dispatched() {
    let store = Arc::new(MemoryStore::new());
    let cache = Arc::new(MemoryReadCache::new());
    let w = ShopWorld::new(store.clone());
    let shop = Shop::builder(Stores::from_backend(store.clone()))
        .clock(w.clock.clone())
        .read_cache(cache.clone())
        .build();
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

    // An administrator's edit: after the next dispatch, the new title.
    let mut draft = ShopWorld::product_draft("Tea cup, blue", "A thing.");
    draft.on_sale = true;
    shop.update_product(id, draft).await.unwrap();
    shop.dispatch_events().await.unwrap();
    assert_eq!(
        shop.product_detail(id).await.unwrap().product.title,
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
