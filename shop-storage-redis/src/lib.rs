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
//! - [`SubmitTokenStore`](shop_core::order::SubmitTokenStore): checkout
//!   submit tokens beside the carts, one hash per token, claimed and
//!   consumed by compare-and-set scripts around the database's placement
//!   (`Stores::with_submit_tokens`).
//!
//! Each port passes its part of the `shop-core` conformance suite
//! ([`cart_conformance_tests!`](shop_core::cart_conformance_tests),
//! [`session_conformance_tests!`](shop_core::session_conformance_tests),
//! and the history, delay-queue, read-cache, submit-token and flash-sale
//! cases), on a standalone server and on a 6-node Redis Cluster.
//!
//! ## Deployments
//!
//! [`RedisStore::connect`]'s URL picks one:
//!
//! - `redis://host:6379/0`: one server (self-reconnecting);
//! - `redis+sentinel://sentinel1:26379,sentinel2:26379/mymaster`: the
//!   primary the Sentinels name, asked again when the connection breaks or
//!   the server answers `READONLY` after a failover (a call that meets the
//!   broken connection fails with a retryable error; one refused or
//!   `READONLY` — so not run — is sent again to the new primary);
//! - `redis+cluster://node1:6379,node2:6379`: a Redis Cluster. Every
//!   script keeps its keys in one hash slot (`{…}` hash tags), so each runs
//!   on the one primary that owns them; all sessions share the slot
//!   `{sessions}` (their purge walks one index), so one primary holds them.
//!
//! TLS (`rediss://`) is not compiled in.
//!
//! ## Keys
//!
//! Every key starts with the store's prefix (e.g. `shop:`), so several shops
//! or test runs share one server without seeing each other:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{prefix}cart:{user}` | hash | SKU id → `quantity:added_at_micros` |
//! | `{prefix}{sessions}:session:{digest}` | string | the session as JSON, with a TTL |
//! | `{prefix}{sessions}:expiry` | sorted set | digests scored by expiry (µs) |
//! | `{prefix}{sessions}:user:{user}` | set | a user's digests, expiring with their longest session |
//! | `{prefix}token:{token}` | hash | a submit token: buyer, expiry, its claim (order id, fingerprint, when) and whether it placed the order; kept a day past its expiry |
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
mod conn;
mod delay;
mod history;
mod limits;
mod seckill;
mod sessions;
mod tokens;

use std::time::Duration;

use redis::AsyncCommands;
use shop_core::{Error, StoreError};

use crate::conn::{Conn, Deployment};

pub use redis;

/// How long connecting, and each command, may take before the call fails
/// with a retryable [`StoreError::Unavailable`].
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Redis adapters on one multiplexed, self-reconnecting connection (to one
/// server, to the primary Sentinel names, or to a cluster). Cheap to clone;
/// every clone shares the connection.
#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    prefix: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("cluster", &self.conn.is_cluster())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the Redis `url` names and keeps every key under
    /// `prefix`. The scheme picks the deployment:
    ///
    /// - `redis://[[user]:password@]host[:port][/db]`: one server;
    /// - `redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/service[/db]`:
    ///   the primary of `service` as the Sentinel nodes name it (port 26379
    ///   by default), asked again after a failover; the credentials and
    ///   database are the primary's, the Sentinels are asked without;
    /// - `redis+cluster://[[user]:password@]host[:port][,host[:port]…]`: a
    ///   Redis Cluster, found through any of the listed nodes.
    ///
    /// Fails with [`StoreError::Unavailable`] when the server cannot be
    /// reached within [`TIMEOUT`], and with a validation error on
    /// `redis_url` when the URL is malformed, or on `redis_prefix` when the
    /// prefix holds `{` or `}` (they would break the hash tags that keep a
    /// script's keys in one cluster slot).
    pub async fn connect(url: &str, prefix: impl Into<String>) -> shop_core::Result<RedisStore> {
        let prefix = prefix.into();
        if prefix.contains(['{', '}']) {
            return Err(Error::validation(
                "redis_prefix",
                "a key prefix must not contain { or } (Redis Cluster hash tags)",
            ));
        }
        let deployment = Deployment::parse(url)
            .map_err(|e| Error::validation("redis_url", format!("not a Redis URL: {e}")))?;
        let store = RedisStore {
            conn: deployment.connect().await?,
            prefix,
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
        if conn.is_cluster() {
            // SCAN has one cursor per node; KEYS is sent to every primary
            // and the answers combined.
            keys = redis::cmd("KEYS")
                .arg(&pattern)
                .query_async(&mut conn)
                .await
                .map_err(redis_err)?;
        } else {
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
    fn conn(&self) -> Conn {
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
