//! # shop-storage-redis
//!
//! Redis adapters for `shop-core`, for the data that is hot, per user and
//! short-lived, next to a SQL store that keeps everything else:
//!
//! - [`CartStore`](shop_core::cart::CartStore): one hash per user, every
//!   change one atomic command or Lua script, so concurrent adds never lose a
//!   unit.
//! - [`SessionStore`](shop_core::account::SessionStore): one key per session
//!   (created with `SET NX`, so a digest is never stored twice) that Redis
//!   expires by itself, plus an expiry index for
//!   [`purge_expired_sessions`](shop_core::account::SessionStore::purge_expired_sessions).
//! - [`RedisStore::rate_limit`]: a token bucket (GCRA) shared by every
//!   instance of an app, one Lua script per request.
//! - [`ReadCache`](shop_core::cache::ReadCache): product pages and the
//!   category tree shared by every instance, versioned so a page read
//!   before an edit is never stored after its invalidation
//!   (`ShopBuilder::read_cache`).
//! - [`DelayQueue`](shop_core::delay::DelayQueue): work due at a time
//!   (closing unpaid orders at their deadline), claimed with a lease by
//!   any node (`ShopBuilder::delay_queue`).
//! - [`HistoryStore`](shop_core::user::HistoryStore): each buyer's
//!   recently viewed products, one sorted set per buyer trimmed by the
//!   script that records a view.
//! - [`SeckillStock`](shop_core::seckill::SeckillStock): a flash sale's
//!   units and takers, each take one Lua script (window, buyer, stock) in
//!   front of the database (`ShopBuilder::seckill_stock`); the database
//!   stays the source of truth and the shop's reconciliation job keeps the
//!   two in agreement.
//!
//! Both ports pass their part of the `shop-core` conformance suite
//! ([`cart_conformance_tests!`](shop_core::cart_conformance_tests),
//! [`session_conformance_tests!`](shop_core::session_conformance_tests)).
//! Checkout submit tokens in Redis are not built yet (they live in the
//! orders' database).
//!
//! ## Keys
//!
//! Every key starts with the store's prefix (e.g. `shop:`), so several shops
//! or test runs share one server without seeing each other:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{prefix}cart:{user}` | hash | SKU id → `quantity:added_at_micros` |
//! | `{prefix}session:{digest}` | string | the session as JSON, with a TTL |
//! | `{prefix}sessions:expiry` | sorted set | digests scored by expiry (µs) |
//! | `{prefix}sessions:user:{user}` | set | a user's digests, expiring with their longest session |
//! | `{prefix}rate:{bucket}` | string | the bucket's theoretical arrival time |
//! | `{prefix}{c:{key}}:val` | string | a cached page (JSON), with its time to live |
//! | `{prefix}{c:{key}}:ver` | string | the cached key's version, moved on by each invalidation |
//! | `{prefix}{delay}:due` | sorted set | delayed job ids by due time (ms); a claim moves it to the lease's end |
//! | `{prefix}{delay}:jobs` | hash | delayed job id → payload |
//! | `{prefix}history:{user}` | sorted set | zero-padded product ids scored by their latest view (µs); 180 days after the last view it expires |
//! | `{prefix}{fs:{sale}}:sale` | hash | a flash sale's units, window (ms) and key expiry |
//! | `{prefix}{fs:{sale}}:takers` | hash | buyer id → when they took a unit (ms) |
//!
//! Carts have no TTL: a cart is kept until its lines are removed. A flash
//! sale's keys expire two days after the sale ends.
//!
//! A standalone Redis at one URL is assumed. Sentinel discovery is not
//! built (point the URL at the current primary), and Redis Cluster is not
//! supported: the session scripts touch keys they do not declare, which a
//! cluster refuses.
//!
//! ## Example
//!
//! Carts in Redis, everything else in SQLite (needs a Redis server, so it is
//! not run as a doctest):
//!
//! ```no_run
//! use std::sync::Arc;
//! use shop_core::{Shop, Stores};
//! use shop_storage_redis::RedisStore;
//! use shop_storage_sql::SqliteStore;
//!
//! # async fn run() -> shop_core::Result<()> {
//! let sql = Arc::new(SqliteStore::connect("sqlite::memory:").await?);
//! sql.migrate().await?;
//! let redis = Arc::new(RedisStore::connect("redis://127.0.0.1:6379", "shop:").await?);
//! let stores = Stores::from_backend(sql).with_carts(redis);
//! let shop = Shop::builder(stores).build();
//! # let _ = shop;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod cache;
mod carts;
mod delay;
mod history;
mod limits;
mod seckill;
mod sessions;
mod tokens;

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Client};
use shop_core::{Error, StoreError};

pub use redis;

/// How long connecting, and each command, may take before the call fails
/// with a retryable [`StoreError::Unavailable`].
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Redis adapters on one multiplexed, self-reconnecting connection. Cheap to
/// clone; every clone shares the connection.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://[:password@]host:port[/db]`) and keeps
    /// every key under `prefix`. Fails with [`StoreError::Unavailable`] when
    /// the server cannot be reached within [`TIMEOUT`], and with a
    /// validation error on `redis_url` when the URL is malformed.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> shop_core::Result<RedisStore> {
        let client = Client::open(url)
            .map_err(|e| Error::validation("redis_url", format!("not a Redis URL: {e}")))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(2);
        let conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(redis_err)?;
        let store = RedisStore {
            conn,
            prefix: prefix.into(),
        };
        store.ping().await?;
        Ok(store)
    }

    /// The prefix of every key this store writes.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Checks that the server answers.
    pub async fn ping(&self) -> shop_core::Result<()> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<()>(&mut conn)
            .await
            .map_err(redis_err)
    }

    /// Deletes every key under this store's prefix and returns how many:
    /// for tests, and for retiring a shop's data. Keys written meanwhile by
    /// other clients may survive; stop them first.
    pub async fn clear(&self) -> shop_core::Result<u64> {
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let mut conn = self.conn();
        let mut keys: Vec<String> = Vec::new();
        {
            let mut found = conn
                .scan_match::<_, String>(&pattern)
                .await
                .map_err(redis_err)?;
            while let Some(key) = found.next_item().await {
                keys.push(key.map_err(redis_err)?);
            }
        }
        let mut deleted = 0;
        for chunk in keys.chunks(500) {
            let n: u64 = redis::cmd("UNLINK")
                .arg(chunk)
                .query_async(&mut conn)
                .await
                .map_err(redis_err)?;
            deleted += n;
        }
        Ok(deleted)
    }

    /// A full key: the prefix, then `parts` joined by `:`.
    fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        key.push_str(&parts.join(":"));
        key
    }

    /// A connection handle for one call (a clone of the shared one).
    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }
}

/// `s` with the characters special to `SCAN MATCH` globs escaped.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Translates a driver error: connection trouble and timeouts are
/// retryable ([`StoreError::Unavailable`]), anything else is
/// [`StoreError::Backend`].
pub(crate) fn redis_err(e: redis::RedisError) -> Error {
    let retryable =
        e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout();
    if retryable {
        Error::Store(StoreError::Unavailable {
            source: Box::new(e),
        })
    } else {
        Error::Store(StoreError::Backend {
            source: Box::new(e),
        })
    }
}

/// A [`StoreError::Backend`] for data in Redis that is not in the shape this
/// crate writes (someone else wrote under our prefix).
pub(crate) fn corrupt(key: &str, what: impl std::fmt::Display) -> Error {
    Error::Store(StoreError::Backend {
        source: format!("unexpected data at {key}: {what}").into(),
    })
}

#[cfg(test)]
mod tests {
    use super::glob_escape;

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape("shop:"), "shop:");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
