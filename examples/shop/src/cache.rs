//! A micro-cache of the public catalog reads (`GET /api/products`,
//! `/api/products/{id}`, `/api/categories`): their JSON answers are kept for
//! a short time (`SHOP_CATALOG_CACHE_MS`, one second by default) and served
//! without touching the database.
//!
//! Freshness: every write handled by this instance that may change what
//! those answers show (orders, payments, refunds, reviews, the admin's
//! catalog edits, the job closing unpaid orders) invalidates the whole
//! cache before its answer leaves, so a client never reads its own write
//! stale. Writes made through other instances sharing the database show
//! within the cache's lifetime. Prices and stock are re-checked inside the
//! order placement's atomic write, so a stale page can never sell what is
//! not there. `0` turns the cache off.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Most answers kept at once (the cache empties when full).
const MAX_ENTRIES: usize = 2_048;
/// Largest answer kept.
const MAX_BODY: usize = 512 * 1024;

/// The cache; cheap to share.
#[derive(Debug)]
pub struct CatalogCache {
    ttl: Duration,
    generation: AtomicU64,
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug, Clone)]
struct Entry {
    generation: u64,
    at: Instant,
    body: Bytes,
}

impl CatalogCache {
    /// A cache keeping answers for `ttl` (zero: off).
    pub fn new(ttl: Duration) -> Arc<Self> {
        Arc::new(CatalogCache {
            ttl,
            generation: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// Forgets every answer.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn fresh(&self, key: &str) -> Option<Bytes> {
        let generation = self.generation.load(Ordering::SeqCst);
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|e| e.generation == generation && e.at.elapsed() < self.ttl)
            .map(|e| e.body.clone())
    }

    fn keep(&self, key: String, generation: u64, body: Bytes) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                generation,
                at: Instant::now(),
                body,
            },
        );
    }
}

/// Whether `path` is one of the cached public reads.
fn cached_read(path: &str) -> bool {
    path == "/api/products"
        || path == "/api/categories"
        || path
            .strip_prefix("/api/products/")
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// Whether a write to `path` cannot change what the cached reads show.
fn leaves_the_catalog_alone(path: &str) -> bool {
    ["/api/auth/", "/api/cart", "/api/addresses", "/api/me"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
        || path.ends_with("/favorite")
}

fn json(body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The middleware: serves cached reads, keeps fresh ones, and invalidates
/// after writes.
pub async fn middleware(
    State(cache): State<Arc<CatalogCache>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if request.method() != Method::GET {
        let response = next.run(request).await;
        if !leaves_the_catalog_alone(&path) {
            cache.invalidate();
        }
        return response;
    }
    if cache.ttl.is_zero() || !cached_read(&path) {
        return next.run(request).await;
    }
    let key = request.uri().to_string();
    if let Some(body) = cache.fresh(&key) {
        return json(body);
    }
    // The generation before reading: a write that lands meanwhile makes
    // this answer stale at once.
    let generation = cache.generation.load(Ordering::SeqCst);
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => {
            cache.keep(key, generation, bytes.clone());
            Response::from_parts(parts, Body::from(bytes))
        }
        // Too large to keep (or the body failed): answer without it.
        Err(_) => Response::from_parts(parts, Body::empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_go_stale_by_time_and_by_writes() {
        let cache = CatalogCache::new(Duration::from_millis(50));
        cache.keep("/a".into(), 0, Bytes::from_static(b"1"));
        assert_eq!(cache.fresh("/a").as_deref(), Some(&b"1"[..]));
        cache.invalidate();
        assert_eq!(cache.fresh("/a"), None);
        cache.keep("/a".into(), 1, Bytes::from_static(b"2"));
        assert_eq!(cache.fresh("/a").as_deref(), Some(&b"2"[..]));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.fresh("/a"), None);
    }

    #[test]
    fn only_public_catalog_reads_are_cached() {
        assert!(cached_read("/api/products"));
        assert!(cached_read("/api/products/123"));
        assert!(cached_read("/api/categories"));
        assert!(!cached_read("/api/products/123/favorite"));
        assert!(!cached_read("/api/orders"));
        assert!(!cached_read("/api/products/"));
        assert!(leaves_the_catalog_alone("/api/auth/login"));
        assert!(!leaves_the_catalog_alone("/api/orders"));
        assert!(!leaves_the_catalog_alone("/api/admin/products"));
    }
}
