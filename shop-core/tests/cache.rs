//! The read cache: the contract on the in-memory cache, and product pages
//! through it — served from the cache, never stale after an edit's event
//! is dispatched.

#![cfg(feature = "testing")]

use std::sync::Arc;

use shop_core::conformance::{read_cache_serves_edits_after_dispatch, read_cache_versioned_puts};
use shop_core::memory::{MemoryReadCache, MemoryStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_cache_keeps_the_contract() {
    read_cache_versioned_puts(Arc::new(MemoryReadCache::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_is_never_served_stale_after_its_event_is_dispatched() {
    read_cache_serves_edits_after_dispatch(
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryReadCache::new()),
    )
    .await;
}
