//! A shared read-through cache for what every visitor reads the same:
//! product pages and the category tree ([`ShopBuilder::read_cache`](crate::ShopBuilder::read_cache);
//! Redis in `shop-storage-redis`, [`MemoryReadCache`](crate::memory::MemoryReadCache)
//! in process).
//!
//! Writes are versioned: a reader takes the key's version with its miss,
//! reads the database, and stores what it read only if no invalidation
//! came in between — so a page read before an edit is never stored after
//! the edit's invalidation. Product pages are invalidated by the outbox's
//! product events (created, changed, taken off sale, stock, sold, reviewed);
//! the category tree by the category writes themselves.

use async_trait::async_trait;
use chrono::Duration;

use crate::error::Result;

/// Port: the cache.
#[async_trait]
pub trait ReadCache: Send + Sync + 'static {
    /// The value under `key`, and the key's version (to pass to
    /// [`ReadCache::put`] after a miss).
    async fn get(&self, key: &str) -> Result<(Option<String>, u64)>;
    /// Stores `value` under `key` for `ttl`, only while the key's version
    /// is still `version`; whether it was stored.
    async fn put(&self, key: &str, value: &str, version: u64, ttl: Duration) -> Result<bool>;
    /// Drops the value under `key` and moves its version on, so a reader
    /// that missed before cannot store what it read.
    async fn invalidate(&self, key: &str) -> Result<()>;
}

/// The key of a product's page.
pub fn product_key(product: crate::ids::ProductId) -> String {
    format!("product:{}", product.0)
}

/// The key of the category tree.
pub const CATEGORY_TREE_KEY: &str = "categories";
