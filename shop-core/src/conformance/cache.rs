//! The read cache's contract, for every implementation (memory, Redis):
//! a put after a miss is stored only while no invalidation came in
//! between, so a page read before an edit is never stored after it.

use std::sync::Arc;

use chrono::Duration;

use crate::cache::ReadCache;

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
