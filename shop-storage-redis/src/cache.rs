//! [`ReadCache`] on Redis: per key, the value (with a time to live) and a
//! version counter, both in one hash slot; puts compare the version in the
//! same script that writes.

use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::Duration;
use redis::Script;
use shop_core::cache::ReadCache;
use shop_core::Result;

use crate::{redis_err, RedisStore};

static GET: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/cache_get.lua")));
static PUT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/cache_put.lua")));
static INVALIDATE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/cache_invalidate.lua")));

/// How long a version counter outlives its last invalidation.
const VERSION_SECS: i64 = 24 * 3600;

impl RedisStore {
    /// The value's and the version's keys, in one hash slot.
    fn cache_keys(&self, key: &str) -> (String, String) {
        let tag = format!("{{c:{key}}}");
        (self.key(&[&tag, "val"]), self.key(&[&tag, "ver"]))
    }
}

#[async_trait]
impl ReadCache for RedisStore {
    async fn get(&self, key: &str) -> Result<(Option<String>, u64)> {
        let (val, ver) = self.cache_keys(key);
        GET.key(&val)
            .key(&ver)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_err)
    }

    async fn put(&self, key: &str, value: &str, version: u64, ttl: Duration) -> Result<bool> {
        let (val, ver) = self.cache_keys(key);
        let stored: i64 = PUT
            .key(&val)
            .key(&ver)
            .arg(value)
            .arg(version)
            .arg(ttl.num_milliseconds().max(1))
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_err)?;
        Ok(stored == 1)
    }

    async fn invalidate(&self, key: &str) -> Result<()> {
        let (val, ver) = self.cache_keys(key);
        INVALIDATE
            .key(&val)
            .key(&ver)
            .arg(VERSION_SECS)
            .invoke_async::<()>(&mut self.conn())
            .await
            .map_err(redis_err)
    }
}
